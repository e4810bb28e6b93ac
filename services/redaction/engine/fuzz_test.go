package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

func fuzzSeeds(f *testing.F) {
	for _, d := range New().Detectors() {
		for _, s := range d.TruePositives {
			f.Add(s)
		}
		for _, s := range d.FalsePositives {
			f.Add(s)
		}
	}
	f.Add("")
	f.Add("\xff\xfe AKIA2OGYBAH6STMMNXNN \xc3")
	f.Add("password=Xk9#mQ2$vL7n password=Xk9#mQ2$vL7n")
}

// FuzzRedact checks, for any input, that nothing panics, that every
// finding's offsets slice the input in all three units, and that the
// redacted output holds none of the values that were detected.
func FuzzRedact(f *testing.F) {
	fuzzSeeds(f)
	r := &Redactor{Engine: New(), Keys: RandomKeys()}
	f.Fuzz(func(t *testing.T, text string) {
		out, fs, err := r.Redact(text, &Policy{})
		if err != nil {
			t.Fatal(err)
		}
		prev := 0
		for _, fd := range fs {
			s := fd.UTF8
			if s.Start < prev || s.Start >= s.End || s.End > len(text) {
				t.Fatalf("bad span %+v (previous end %d, len %d)", s, prev, len(text))
			}
			prev = s.End
			if utf8.ValidString(text) {
				if !utf8.ValidString(text[:s.Start]) || !utf8.ValidString(text[s.Start:s.End]) {
					t.Fatalf("span %+v splits a character of %q", s, text)
				}
				if got := utf8.RuneCountInString(text[:s.Start]); got != fd.CodePoints.Start {
					t.Fatalf("code-point start %d, want %d", fd.CodePoints.Start, got)
				}
				if got := len(utf16.Encode([]rune(text[:s.End]))); got != fd.UTF16.End {
					t.Fatalf("UTF-16 end %d, want %d", fd.UTF16.End, got)
				}
			}
		}
		for _, fd := range fs {
			v := text[fd.UTF8.Start:fd.UTF8.End]
			if len(v) >= minRepeatLen && strings.Contains(out, v) {
				t.Fatalf("output %q still holds detected %s value %q", out, fd.Entity, v)
			}
		}
	})
}

// TestLinearTime feeds inputs built to trip backtracking or rescanning
// (keyword prefixes repeated without a valid token, unterminated blocks,
// long digit runs) at two sizes and fails when the larger takes
// disproportionately longer: eight times the input may take at most about
// twenty times as long (a quadratic parser would take sixty-four).
func TestLinearTime(t *testing.T) {
	if testing.Short() {
		t.Skip("timing comparison; skipped with -short")
	}
	e := New()
	units := map[string]string{
		"prefixes":      "AKIA ghp_ eyJ xoxb- glpat- sk_live_ AIza npm_ ",
		"pem":           "-----BEGIN RSA PRIVATE KEY-----\nMIIE",
		"at signs":      "a@b@c.d@",
		"urls":          "https://a:b@c/?token=x&",
		"digits":        "1 2-3.4/5 ",
		"colons":        "a:b:c::d:",
		"assignments":   "password=password=",
		"basic auth":    "Basic Basic ",
		"secret values": "secret=Xk9#mQ2$vL7n ",
	}
	measure := func(s string) time.Duration {
		best := time.Duration(1 << 62)
		for i := 0; i < 5; i++ {
			start := time.Now()
			e.Detect(nil, s)
			if d := time.Since(start); d < best {
				best = d
			}
		}
		return best
	}
	// Eight times the input takes about eight times as long when the scan
	// is linear and about sixty-four times when it is quadratic. The bound
	// sits between the two; a busy machine (other tests, -race) can skew
	// one measurement, so a unit fails only when three attempts all do.
	const bound = 32
	for name, unit := range units {
		small := strings.Repeat(unit, 32<<10/len(unit)+1)
		large := strings.Repeat(unit, 8*(32<<10/len(unit)+1))
		var report string
		for attempt := 0; attempt < 3; attempt++ {
			ts, tl := measure(small), measure(large)
			if ts < 200*time.Microsecond {
				ts = 200 * time.Microsecond // below timer and scheduling noise
			}
			ratio := float64(tl) / float64(ts)
			if ratio <= bound {
				report = ""
				break
			}
			report = fmt.Sprintf("%s: %d bytes took %v, %d bytes took %v (x%.1f); want linear", name, len(small), ts, len(large), tl, ratio)
		}
		if report != "" {
			t.Error(report)
		}
	}
}
