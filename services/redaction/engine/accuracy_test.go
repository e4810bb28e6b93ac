package engine

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The labelled corpus in testdata/corpus: one case per line, `\n` for a
// newline, entities marked ⟦TYPE|value⟧ (positive.txt); negative.txt holds
// hard negatives with no marks. A detection is right when it overlaps a mark
// of its type; every other detection is a false positive.

type mark struct {
	entity     string
	start, end int
}

type labelled struct {
	text  string
	marks []mark
	line  int
	file  string
}

func loadCorpus(t testing.TB, name string) []labelled {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.ReplaceAll(line, `\n`, "\n")
		c := labelled{line: n, file: name}
		var b strings.Builder
		for {
			i := strings.Index(line, "⟦")
			if i < 0 {
				b.WriteString(line)
				break
			}
			j := strings.Index(line[i:], "⟧")
			bar := strings.Index(line[i:], "|")
			if j < 0 || bar < 0 || bar > j {
				t.Fatalf("%s:%d: malformed mark", name, n)
			}
			b.WriteString(line[:i])
			value := line[i+bar+1 : i+j]
			start := b.Len()
			b.WriteString(value)
			c.marks = append(c.marks, mark{entity: line[i+len("⟦") : i+bar], start: start, end: b.Len()})
			line = line[i+j+len("⟧"):]
		}
		c.text = b.String()
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type tally struct{ tp, fn, fp int }

func (x tally) recall() float64    { return ratio(x.tp, x.tp+x.fn) }
func (x tally) precision() float64 { return ratio(x.tp, x.tp+x.fp) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// TestAccuracy scores the engine on the labelled corpus, prints recall and
// precision per entity type, and holds the floors: credential recall at
// least 0.98 and overall precision at least 0.95.
func TestAccuracy(t *testing.T) {
	t.Parallel()
	cases := append(loadCorpus(t, "positive.txt"), loadCorpus(t, "negative.txt")...)
	cred, all := score(t, "tuning corpus", cases)
	if r := cred.recall(); r < 0.98 {
		t.Errorf("credential recall %.3f, want at least 0.98", r)
	}
	if p := all.precision(); p < 0.95 {
		t.Errorf("overall precision %.3f, want at least 0.95", p)
	}
}

// TestAccuracyHoldout scores the engine on a second corpus, written by
// another author and never used to tune the detectors, to show how the
// engine generalises. Its floors are the same.
func TestAccuracyHoldout(t *testing.T) {
	t.Parallel()
	cases := append(loadCorpus(t, "holdout-positive.txt"), loadCorpus(t, "holdout-negative.txt")...)
	cred, all := score(t, "held-out corpus", cases)
	if r := cred.recall(); r < 0.98 {
		t.Errorf("held-out credential recall %.3f, want at least 0.98", r)
	}
	if p := all.precision(); p < 0.95 {
		t.Errorf("held-out overall precision %.3f, want at least 0.95", p)
	}
}

// score runs the engine over labelled cases and logs the table; it returns
// the credential and overall tallies.
func score(t *testing.T, name string, cases []labelled) (tally, tally) {
	t.Helper()
	e := New()
	per := map[string]*tally{}
	get := func(k string) *tally {
		if per[k] == nil {
			per[k] = &tally{}
		}
		return per[k]
	}
	var misses []string
	for _, c := range cases {
		ms := e.Detect(nil, c.text)
		hit := make([]bool, len(c.marks))
		for _, m := range ms {
			matched := false
			for i, mk := range c.marks {
				if mk.entity == m.Entity && m.Start < mk.end && mk.start < m.End {
					if !hit[i] {
						get(mk.entity).tp++
					}
					hit[i], matched = true, true
				}
			}
			if !matched {
				get(m.Entity).fp++
				misses = append(misses, fmt.Sprintf("FP %s:%d %s %q", c.file, c.line, m.Entity, c.text[m.Start:m.End]))
			}
		}
		for i, mk := range c.marks {
			if !hit[i] {
				get(mk.entity).fn++
				misses = append(misses, fmt.Sprintf("FN %s:%d %s %q", c.file, c.line, mk.entity, c.text[mk.start:mk.end]))
			}
		}
	}
	var names []string
	var all, cred tally
	for k, v := range per {
		names = append(names, k)
		all.tp, all.fn, all.fp = all.tp+v.tp, all.fn+v.fn, all.fp+v.fp
		if cat, _ := e.EntityCategory(k); cat == CategoryCredential {
			cred.tp, cred.fn, cred.fp = cred.tp+v.tp, cred.fn+v.fn, cred.fp+v.fp
		}
	}
	slices.Sort(names)
	var report strings.Builder
	fmt.Fprintf(&report, "%-24s %5s %5s %5s %7s %9s\n", "entity", "tp", "fn", "fp", "recall", "precision")
	for _, k := range names {
		v := per[k]
		fmt.Fprintf(&report, "%-24s %5d %5d %5d %7.3f %9.3f\n", k, v.tp, v.fn, v.fp, v.recall(), v.precision())
	}
	fmt.Fprintf(&report, "%-24s %5d %5d %5d %7.3f %9.3f\n", "credentials", cred.tp, cred.fn, cred.fp, cred.recall(), cred.precision())
	fmt.Fprintf(&report, "%-24s %5d %5d %5d %7.3f %9.3f\n", "all", all.tp, all.fn, all.fp, all.recall(), all.precision())
	t.Logf("accuracy on the %s, %d labelled cases:\n%s", name, len(cases), report.String())
	if os.Getenv("DPSWEEP_ACCURACY_MISSES") != "" {
		t.Logf("misses:\n%s", strings.Join(misses, "\n"))
	}
	return cred, all
}
