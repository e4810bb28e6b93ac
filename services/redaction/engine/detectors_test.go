package engine

import (
	"fmt"
	"strings"
	"testing"
)

// TestDetectorExamples runs every detector's own examples: each true
// positive must be found by that detector (as its entity type), and no false
// positive may be reported by it.
func TestDetectorExamples(t *testing.T) {
	t.Parallel()
	e := New()
	for _, d := range e.Detectors() {
		if len(d.TruePositives) == 0 || len(d.FalsePositives) == 0 {
			t.Errorf("detector %s lacks examples: every detector ships true and false positives", d.Name)
		}
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			for _, text := range d.TruePositives {
				if !found(e.Detect(nil, text), d) {
					t.Errorf("true positive not found: %q\n  got %s", text, describe(text, e.Detect(nil, text)))
				}
			}
			for _, text := range d.FalsePositives {
				if found(e.Detect(nil, text), d) {
					t.Errorf("false positive reported: %q\n  got %s", text, describe(text, e.Detect(nil, text)))
				}
			}
		})
	}
}

func found(ms []Match, d Detector) bool {
	for _, m := range ms {
		if m.Detector == d.Name && m.Entity == d.Entity {
			return true
		}
	}
	return false
}

func describe(text string, ms []Match) string {
	if len(ms) == 0 {
		return "nothing"
	}
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s/%s %q %s", m.Entity, m.Detector, text[m.Start:m.End], m.Confidence))
	}
	return strings.Join(parts, "; ")
}
