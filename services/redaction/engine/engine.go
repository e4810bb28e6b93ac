// Package engine detects credentials, AWS account numbers and personal data
// in free-form text and scrubs them.
//
// Detection runs in two stages. A prefilter (one Aho–Corasick pass over the
// text, see prefilter.go) finds every detector keyword — token prefixes such
// as "AKIA" or "ghp_", context words such as "password" or "passport", and
// the trigger characters '@', ':' and the digits. Each hit hands a small,
// bounded window of the text to the detectors that own the keyword; they
// parse it by hand (no regular expressions), so time is linear in the input
// and nothing is allocated per byte. Overlapping detections are then
// resolved, most specific first.
package engine

import (
	"slices"
	"strings"
	"sync"
)

// Category groups entity types.
type Category int

// Categories.
const (
	CategoryCredential Category = iota + 1
	CategoryPII
	CategoryIdentifier
)

func (c Category) String() string {
	switch c {
	case CategoryCredential:
		return "CREDENTIAL"
	case CategoryPII:
		return "PII"
	case CategoryIdentifier:
		return "IDENTIFIER"
	}
	return "UNSPECIFIED"
}

// Confidence of a detection.
type Confidence int

// Confidences, ordered.
const (
	ConfidenceLow Confidence = iota + 1
	ConfidenceMedium
	ConfidenceHigh
)

func (c Confidence) String() string {
	switch c {
	case ConfidenceLow:
		return "LOW"
	case ConfidenceMedium:
		return "MEDIUM"
	case ConfidenceHigh:
		return "HIGH"
	}
	return "UNSPECIFIED"
}

// Match is one detection: the byte range [Start, End) of the text.
type Match struct {
	Start, End int
	Entity     string
	Detector   string
	Category   Category
	Confidence Confidence
	priority   int
}

// Detector describes one detector for listing.
type Detector struct {
	Name        string
	Entity      string
	Category    Category
	Description string
	Keywords    []string
	// Examples the detector must find (TruePositives) and must not find
	// (FalsePositives); a test runs them all.
	TruePositives, FalsePositives []string
}

// detector is a detector with its parser.
type detector struct {
	Detector
	priority int
	// find examines the text around a keyword that ends at end (its start is
	// end-len(keyword)) and reports matches through s.add.
	find func(s *scan, kw string, end int)
}

// Engine is a compiled set of detectors. It is safe for concurrent use.
type Engine struct {
	detectors []*detector
	ac        *acDFA
	// byKeyword[kw] lists the detectors to run when keyword kw is seen.
	byKeyword [][]*detector
	entities  map[string]Category
	// numeric are the detectors that read digit runs (keyword "digits").
	numeric []*detector
	// digitKW marks the keyword IDs of the digits.
	digitKW []bool
	pool    sync.Pool
}

// New compiles the built-in detectors.
func New() *Engine {
	e := &Engine{entities: map[string]Category{}}
	e.detectors = builtinDetectors()
	idx := map[string]int32{}
	var keywords []string
	addKeyword := func(k string, d *detector) {
		id, ok := idx[k]
		if !ok {
			id = int32(len(keywords))
			idx[k] = id
			keywords = append(keywords, k)
			e.byKeyword = append(e.byKeyword, nil)
		}
		e.byKeyword[id] = append(e.byKeyword[id], d)
	}
	// The digits trigger one dispatcher, which parses each run of digits
	// once and hands it to every numeric detector.
	for _, b := range digitKeyword {
		addKeyword(string(b), nil)
	}
	for _, d := range e.detectors {
		e.entities[d.Entity] = d.Category
		if len(d.Keywords) == 1 && d.Keywords[0] == "digits" {
			e.numeric = append(e.numeric, d)
			continue
		}
		for _, k := range d.Keywords {
			addKeyword(k, d)
		}
	}
	e.ac = newACDFA(keywords)
	e.digitKW = make([]bool, len(keywords))
	for i, k := range keywords {
		if len(k) == 1 && isDigit(k[0]) {
			e.digitKW[i] = true
			continue
		}
		// The skip over digit runs is exact only if no other keyword has
		// two run bytes in a row.
		for j := 1; j < len(k); j++ {
			a, b := strings.IndexByte(runAlphabet, k[j-1]) >= 0, strings.IndexByte(runAlphabet, k[j]) >= 0
			if a && b && (isDigit(k[j-1]) || isDigit(k[j])) {
				panic("engine: keyword " + k + " holds a digit next to a run byte")
			}
		}
	}
	e.pool.New = func() any { return &scan{} }
	return e
}

// Detectors lists the detectors, sorted by name.
func (e *Engine) Detectors() []Detector {
	out := make([]Detector, 0, len(e.detectors))
	for _, d := range e.detectors {
		out = append(out, d.Detector)
	}
	slices.SortFunc(out, func(a, b Detector) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// EntityCategory returns an entity type's category and whether it is known.
func (e *Engine) EntityCategory(entity string) (Category, bool) {
	c, ok := e.entities[entity]
	return c, ok
}

// Entities lists every entity type the engine reports, sorted.
func (e *Engine) Entities() []string {
	out := make([]string, 0, len(e.entities))
	for k := range e.entities {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Detect returns the detections in text, sorted by start, without overlaps.
// The result is appended to dst, which may be nil.
func (e *Engine) Detect(dst []Match, text string) []Match {
	s := e.pool.Get().(*scan)
	s.reset(text)
	e.ac.scan(text, func(kw int32, end int) int {
		if e.digitKW[kw] {
			// A digit: parse the whole run once and resume after it. A run is
			// digits and separators ending in a digit; no keyword ends inside
			// one, and the only keyword prefixes ending in a digit after
			// another run byte are the digits themselves (checked in New).
			if r := e.numbers(s, end); r > end {
				return r
			}
			return 0
		}
		k := e.ac.keywords[kw]
		for _, d := range e.byKeyword[kw] {
			s.det = d
			d.find(s, k, end)
		}
		return 0
	})
	base := len(dst)
	dst = resolve(dst, s.matches)
	dst = propagate(dst, base, text)
	s.det = nil
	e.pool.Put(s)
	return dst
}

// Repeats: once a value is detected, its other occurrences in the same text
// are reported too ("password=X ... login with X failed"), for values of at
// least minRepeatLen bytes.
const minRepeatLen = 6

// propagate adds to dst[base:] (sorted, disjoint) every other occurrence of
// the values it holds, keeping the result sorted and disjoint. One pass over
// the text: the last minRepeatLen bytes, packed into an integer, are looked
// up in a bit filter and then in a map of anchors, minRepeatLen bytes from
// the middle of each value (prefixes are shared: "-----BEGIN", "AKIA").
func propagate(dst []Match, base int, text string) []Match {
	found := dst[base:]
	if len(found) == 0 {
		return dst
	}
	if len(found) <= 8 || len(text)*len(found) <= 1<<20 {
		return propagateFew(dst, base, text)
	}
	const mask = 1<<(8*minRepeatLen) - 1
	key := func(s string) uint64 {
		var k uint64
		for i := 0; i < minRepeatLen; i++ {
			k = k<<8 | uint64(s[i])
		}
		return k
	}
	// A bit filter with about 64 bits per value keeps false hits rare.
	shift := uint(64 - 12)
	for n := len(found); n > 64 && shift > 64-24; n >>= 1 {
		shift--
	}
	filter := make([]uint64, 1<<(64-shift)/64)
	bit := func(k uint64) (int, uint64) {
		h := (k * 0x9e3779b97f4a7c15) >> shift
		return int(h >> 6), 1 << (h & 63)
	}
	type anchored struct{ found, offset int }
	byPrefix := map[uint64][]anchored{}
	seen := make(map[string]bool, len(found))
	for i, m := range found {
		v := text[m.Start:m.End]
		if len(v) < minRepeatLen || seen[v] {
			continue
		}
		seen[v] = true
		// Anchor in the middle, or, when values share their middle (JWTs share
		// payload keys), at the nearest offset that no other value uses.
		off, k, best := 0, uint64(0), -1
		mid, last := (len(v)-minRepeatLen)/2, len(v)-minRepeatLen
		for step := 0; step <= 2*last+1 && step < 24; step++ {
			o := mid + (step+1)/2*7*(1-2*(step%2))
			if o < 0 || o > last {
				continue
			}
			ck := key(v[o:])
			if n := len(byPrefix[ck]); best < 0 || n < best {
				off, k, best = o, ck, n
				if n == 0 {
					break
				}
			}
		}
		w, b := bit(k)
		filter[w] |= b
		byPrefix[k] = append(byPrefix[k], anchored{i, off})
	}
	if len(byPrefix) == 0 {
		return dst
	}
	var k uint64
	for i := 0; i < len(text); i++ {
		k = (k<<8 | uint64(text[i])) & mask
		if i < minRepeatLen-1 {
			continue
		}
		if w, b := bit(k); filter[w]&b == 0 {
			continue
		}
		for _, a := range byPrefix[k] {
			m := found[a.found]
			st := i - minRepeatLen + 1 - a.offset
			if st < 0 || st == m.Start || !strings.HasPrefix(text[st:], text[m.Start:m.End]) {
				continue
			}
			dst = append(dst, repeatOf(m, st))
		}
	}
	if len(dst) == base+len(found) {
		return dst
	}
	// Repeats never displace a direct detection: they have the lowest priority.
	return resolve(dst[:base], dst[base:])
}

// propagateFew is propagate for a handful of values: a direct search per
// value, with no tables to build.
func propagateFew(dst []Match, base int, text string) []Match {
	found := dst[base:]
	n := len(dst)
	for k, m := range found {
		v := text[m.Start:m.End]
		if len(v) < minRepeatLen {
			continue
		}
		dup := false
		for _, o := range found[:k] {
			if text[o.Start:o.End] == v {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		for i := 0; ; {
			j := strings.Index(text[i:], v)
			if j < 0 {
				break
			}
			st := i + j
			i = st + len(v) // non-overlapping, so the work stays linear
			if st == m.Start {
				continue
			}
			dst = append(dst, repeatOf(m, st))
		}
	}
	if len(dst) == n {
		return dst
	}
	return resolve(dst[:base], dst[base:])
}

// repeatOf is m's value found again at start: the same entity from the
// detector's "/repeat" variant, at the lowest priority, so that a repeat
// never displaces a direct detection.
func repeatOf(m Match, start int) Match {
	r := m
	r.Start, r.End = start, start+(m.End-m.Start)
	r.Detector = repeatName(m.Detector)
	r.priority = 0
	return r
}

// repeatNames interns "<detector>/repeat": one string per detector, not one
// per repeat.
var repeatNames sync.Map

func repeatName(detector string) string {
	if v, ok := repeatNames.Load(detector); ok {
		return v.(string)
	}
	v, _ := repeatNames.LoadOrStore(detector, detector+"/repeat")
	return v.(string)
}

// scan is the state of one Detect call, pooled.
type scan struct {
	text    string
	matches []Match
	det     *detector
	// Skip marks, so that a run of digits, a URL or an address seen through
	// several keywords is parsed once.
	digitRunEnd, ipv6End, urlEnd, emailEnd int
	run                                    digitRun
	// pemEnd caches the position of the next "-----END" (-1: not searched
	// yet, -2: there is none).
	pemEnd int
	// pemSkip is the end of the last private key block reported.
	pemSkip int
}

func (s *scan) reset(text string) {
	s.text = text
	s.matches = s.matches[:0]
	s.digitRunEnd, s.ipv6End, s.urlEnd, s.emailEnd = -1, -1, -1, -1
	s.pemEnd, s.pemSkip = -1, -1
}

// add reports a match of the running detector.
func (s *scan) add(start, end int, conf Confidence) {
	s.addAs(s.det.Entity, s.det.Category, start, end, conf)
}

// addAs reports a match of the running detector under another entity type.
func (s *scan) addAs(entity string, cat Category, start, end int, conf Confidence) {
	if start >= end {
		return
	}
	s.matches = append(s.matches, Match{Start: start, End: end, Entity: entity, Detector: s.det.Name, Category: cat, Confidence: conf, priority: s.det.priority})
}

// better reports whether a should win over an overlapping b: higher
// priority, then longer, then more confident, then earlier.
func better(a, b *Match) bool {
	if a.priority != b.priority {
		return a.priority > b.priority
	}
	if la, lb := a.End-a.Start, b.End-b.Start; la != lb {
		return la > lb
	}
	if a.Confidence != b.Confidence {
		return a.Confidence > b.Confidence
	}
	return a.Start < b.Start
}

// resolve appends to dst the matches of ms that survive overlap resolution,
// sorted by start: of two overlapping matches the better one stays. ms may
// be the tail of dst's own array (dst[len(dst):cap]): the result is a
// subsequence of ms, written in place, never ahead of where it is read.
func resolve(dst []Match, ms []Match) []Match {
	if len(ms) == 0 {
		return dst
	}
	slices.SortFunc(ms, func(a, b Match) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		if better(&a, &b) {
			return -1
		}
		if better(&b, &a) {
			return 1
		}
		return 0
	})
	base := len(dst)
	for i := range ms {
		m := &ms[i]
		if n := len(dst); n > base && dst[n-1].End > m.Start {
			if better(m, &dst[n-1]) {
				dst[n-1] = *m
				// The replacement may now overlap its predecessor no more than
				// the match it replaced did (it starts later), so nothing else moves.
			}
			continue
		}
		dst = append(dst, *m)
	}
	return dst
}
