package engine

// The prefilter finds every keyword of every detector in one pass over the
// text with an Aho–Corasick automaton compiled to a DFA over byte classes.
// Matching is ASCII case-insensitive. Detectors' own parsers run only where
// a keyword was seen, so clean text costs one table walk per byte.

// acDFA is an Aho–Corasick automaton as a dense DFA. Each entry of delta is
// (next state's row offset) << 1 | (1 if the next state ends a keyword).
type acDFA struct {
	class    [256]uint8
	nclass   int
	delta    []uint32
	outputs  [][]int32 // per state: keyword ids that end there (via failure links too)
	keywords []string
}

// newACDFA compiles keywords (matched case-insensitively) into a DFA.
func newACDFA(keywords []string) *acDFA {
	d := &acDFA{keywords: keywords}
	// Byte classes: every byte that occurs in a keyword (either case) gets its
	// own class; all other bytes share class 0.
	var used [256]bool
	for _, k := range keywords {
		for i := 0; i < len(k); i++ {
			used[lower(k[i])] = true
		}
	}
	n := 1
	for b := 0; b < 256; b++ {
		lb := lower(byte(b))
		if used[lb] {
			if lb == byte(b) {
				d.class[b] = uint8(n)
				n++
			}
		}
	}
	for b := 0; b < 256; b++ {
		lb := lower(byte(b))
		if used[lb] && lb != byte(b) {
			d.class[b] = d.class[lb]
		}
	}
	d.nclass = n

	// Trie.
	type node struct {
		next []int32
		fail int32
		out  []int32
	}
	newNode := func() node {
		nx := make([]int32, n)
		for i := range nx {
			nx[i] = -1
		}
		return node{next: nx}
	}
	nodes := []node{newNode()}
	for id, k := range keywords {
		s := int32(0)
		for i := 0; i < len(k); i++ {
			c := d.class[k[i]]
			if nodes[s].next[c] < 0 {
				nodes = append(nodes, newNode())
				nodes[s].next[c] = int32(len(nodes) - 1)
			}
			s = nodes[s].next[c]
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}
	// BFS for failure links, completing the goto function into a DFA.
	queue := make([]int32, 0, len(nodes))
	for c := 0; c < n; c++ {
		if t := nodes[0].next[c]; t >= 0 {
			nodes[t].fail = 0
			queue = append(queue, t)
		} else {
			nodes[0].next[c] = 0
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		nodes[s].out = append(nodes[s].out, nodes[nodes[s].fail].out...)
		for c := 0; c < n; c++ {
			t := nodes[s].next[c]
			if t >= 0 {
				nodes[t].fail = nodes[nodes[s].fail].next[c]
				queue = append(queue, t)
			} else {
				nodes[s].next[c] = nodes[nodes[s].fail].next[c]
			}
		}
	}
	d.delta = make([]uint32, len(nodes)*n)
	d.outputs = make([][]int32, len(nodes))
	for s := range nodes {
		d.outputs[s] = nodes[s].out
		for c := 0; c < n; c++ {
			t := nodes[s].next[c]
			e := uint32(int(t)*n) << 1
			if len(nodes[t].out) > 0 {
				e |= 1
			}
			d.delta[s*n+c] = e
		}
	}
	return d
}

// scan calls hit(keywordID, end) for every keyword occurrence, where end is
// the byte offset just past it. hit may return a position r beyond end to
// resume the scan there: the caller has consumed the bytes between, promises
// that no keyword ends inside them, and that no keyword prefix longer than
// one byte ends at r-1, so the state there is the root's transition on
// text[r-1]. It allocates nothing.
func (d *acDFA) scan(text string, hit func(kw int32, end int) int) {
	delta, class, n := d.delta, &d.class, uint32(d.nclass)
	row := uint32(0)
	for i := 0; i < len(text); i++ {
		e := delta[row+uint32(class[text[i]])]
		row = e >> 1
		if e&1 != 0 {
			resume := 0
			for _, kw := range d.outputs[row/n] {
				if r := hit(kw, i+1); r > resume {
					resume = r
				}
			}
			if resume > i+1 {
				row = delta[class[text[resume-1]]] >> 1
				i = resume - 1
			}
		}
	}
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// contains reports whether any keyword occurs in text.
func (d *acDFA) contains(text string) bool {
	delta, class := d.delta, &d.class
	row := uint32(0)
	for i := 0; i < len(text); i++ {
		e := delta[row+uint32(class[text[i]])]
		if e&1 != 0 {
			return true
		}
		row = e >> 1
	}
	return false
}
