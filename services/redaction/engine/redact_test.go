package engine

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
)

func testKeys(t *testing.T) *Keys {
	t.Helper()
	k, err := NewKeys(bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRedactOperators(t *testing.T) {
	t.Parallel()
	r := &Redactor{Engine: New(), Keys: testKeys(t)}
	const text = "mail jane.doe@example.org, key AKIA2OGYBAH6STMMNXNN."
	tests := map[string]struct {
		policy Policy
		want   string
	}{
		"default replaces with type tags": {
			want: "mail [EMAIL_ADDRESS], key [AWS_ACCESS_KEY_ID].",
		},
		"mask keeping the last four": {
			policy: Policy{Default: OperatorConfig{Operator: OperatorMask, KeepLast: 4}},
			want:   "mail ****************.org, key ****************NXNN.",
		},
		"mask with another character": {
			policy: Policy{Operators: map[string]OperatorConfig{"EMAIL_ADDRESS": {Operator: OperatorMask, MaskChar: '#'}}},
			want:   "mail ####################, key [AWS_ACCESS_KEY_ID].",
		},
		"fixed replacement and remove": {
			policy: Policy{Operators: map[string]OperatorConfig{
				"EMAIL_ADDRESS":     {Operator: OperatorReplace, Replacement: "<redacted>"},
				"AWS_ACCESS_KEY_ID": {Operator: OperatorRemove},
			}},
			want: "mail <redacted>, key .",
		},
		"keep leaves the value": {
			policy: Policy{Default: OperatorConfig{Operator: OperatorKeep}},
			want:   text,
		},
		"entity filter detects only the listed types": {
			policy: Policy{Entities: map[string]bool{"EMAIL_ADDRESS": true}},
			want:   "mail [EMAIL_ADDRESS], key AKIA2OGYBAH6STMMNXNN.",
		},
		"hash gives a keyed pseudonym": {
			policy: Policy{Default: OperatorConfig{Operator: OperatorHash}},
			want: "mail [EMAIL_ADDRESS:" + r.Keys.Pseudonym("jane.doe@example.org") + "], key [AWS_ACCESS_KEY_ID:" +
				r.Keys.Pseudonym("AKIA2OGYBAH6STMMNXNN") + "].",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, fs, err := r.Redact(text, &tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Redact() =\n  %q\nwant\n  %q", got, tc.want)
			}
			if len(fs) == 0 {
				t.Fatal("no findings")
			}
		})
	}
}

func TestMinConfidence(t *testing.T) {
	t.Parallel()
	r := &Redactor{Engine: New()}
	text := "docs AKIAIOSFODNN7EXAMPLE real AKIA2OGYBAH6STMMNXNN"
	all := r.Detect(text, &Policy{})
	high := r.Detect(text, &Policy{MinConfidence: ConfidenceHigh})
	if len(all) != 2 || all[0].Confidence != ConfidenceLow {
		t.Fatalf("Detect() = %+v; want the documentation example at low confidence and the real key", all)
	}
	if len(high) != 1 || text[high[0].UTF8.Start:high[0].UTF8.End] != "AKIA2OGYBAH6STMMNXNN" {
		t.Fatalf("Detect(min high) = %+v; want only the real key", high)
	}
}

func TestPseudonymsAreStableAcrossRedactors(t *testing.T) {
	t.Parallel()
	p := &Policy{Default: OperatorConfig{Operator: OperatorHash}}
	a := &Redactor{Engine: New(), Keys: testKeys(t)}
	b := &Redactor{Engine: New(), Keys: testKeys(t)}
	c := &Redactor{Engine: New(), Keys: RandomKeys()}
	text := "owner ops@example.com"
	ga, _, _ := a.Redact(text, p)
	gb, _, _ := b.Redact(text, p)
	gc, _, _ := c.Redact(text, p)
	if ga != gb {
		t.Fatalf("same key, different pseudonyms: %q vs %q", ga, gb)
	}
	if ga == gc {
		t.Fatalf("different keys gave the same pseudonym %q", ga)
	}
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	t.Parallel()
	r := &Redactor{Engine: New(), Keys: testKeys(t)}
	text := "token ghp_R2d9xK7mQ4vL8nP3sT6wY1zB5cF0hJ2gA9eD and ssn 123-45-6789"
	red, fs, err := r.Redact(text, &Policy{Default: OperatorConfig{Operator: OperatorEncrypt}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(red, "ghp_R2d9") || strings.Contains(red, "6789") || len(fs) != 2 {
		t.Fatalf("encrypted text leaks or misses: %q (%d findings)", red, len(fs))
	}
	back, n := r.Keys.Decrypt(red)
	if back != text || n != 2 {
		t.Fatalf("Decrypt() = %q, %d; want the original and 2", back, n)
	}
	// Another key opens nothing; a tampered token stays as it is.
	if other, n := RandomKeys().Decrypt(red); n != 0 || other != red {
		t.Fatalf("a foreign key opened %d tokens", n)
	}
	tampered := strings.Replace(red, "[ENC:GITHUB_TOKEN:", "[ENC:US_SSN:", 1)
	if _, n := r.Keys.Decrypt(tampered); n != 1 {
		t.Fatalf("Decrypt(tampered) opened %d tokens; want only the untouched one", n)
	}
}

func TestOffsetsInEveryUnit(t *testing.T) {
	t.Parallel()
	r := &Redactor{Engine: New(), Keys: testKeys(t)}
	// é is 2 UTF-8 bytes and 1 UTF-16 unit; 😀 is 4 bytes, 1 code point, 2 UTF-16 units.
	text := "Café 😀 owner: zoë@example.org 😀😀 AKIA2OGYBAH6STMMNXNN"
	fs := r.Detect(text, &Policy{})
	if len(fs) != 2 {
		t.Fatalf("Detect() = %+v; want 2 findings", fs)
	}
	runes := []rune(text)
	units := utf16.Encode(runes)
	for _, f := range fs {
		want := text[f.UTF8.Start:f.UTF8.End]
		if got := string(runes[f.CodePoints.Start:f.CodePoints.End]); got != want {
			t.Errorf("%s: code-point span gives %q, want %q", f.Entity, got, want)
		}
		if got := string(utf16.Decode(units[f.UTF16.Start:f.UTF16.End])); got != want {
			t.Errorf("%s: UTF-16 span gives %q, want %q", f.Entity, got, want)
		}
		if f.Fingerprint == "" || strings.Contains(want, f.Fingerprint) {
			t.Errorf("%s: fingerprint %q", f.Entity, f.Fingerprint)
		}
	}
	if got := text[fs[0].UTF8.Start:fs[0].UTF8.End]; got != "zoë@example.org" {
		t.Errorf("email span %q, want the whole address", got)
	}
}

func TestRepeatsAreScrubbed(t *testing.T) {
	t.Parallel()
	r := &Redactor{Engine: New()}
	text := "DB_PASSWORD=Xk9#mQ2$vL7n\nlogin failed for password Xk9#mQ2$vL7n"
	got, fs, err := r.Redact(text, &Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "Xk9#mQ2$vL7n") || len(fs) != 2 {
		t.Fatalf("Redact() = %q with %d findings; want both occurrences scrubbed", got, len(fs))
	}
}

func TestHashWithoutKeys(t *testing.T) {
	t.Parallel()
	r := &Redactor{Engine: New()}
	if _, _, err := r.Redact("ops@example.com", &Policy{Default: OperatorConfig{Operator: OperatorHash}}); err != ErrNoKeys {
		t.Fatalf("Redact() error = %v, want ErrNoKeys", err)
	}
}

func TestNewKeysRejectsShortKeys(t *testing.T) {
	t.Parallel()
	if _, err := NewKeys(make([]byte, 16), make([]byte, 32)); err == nil {
		t.Error("16-byte hash key accepted")
	}
	if _, err := NewKeys(make([]byte, 32), make([]byte, 16)); err == nil {
		t.Error("16-byte encryption key accepted")
	}
}

// A value repeated through a text is fingerprinted once and reused; every
// finding still carries the fingerprint of its own value, including a
// repeat further back than the look-back window.
func TestFingerprintsOfRepeatedValues(t *testing.T) {
	t.Parallel()
	r := &Redactor{Engine: New(), Keys: testKeys(t)}
	var b strings.Builder
	for i := range 40 { // the key repeats 2 findings back; user00 never again
		fmt.Fprintf(&b, "user%02d@example.org key AKIA2OGYBAH6STMMNXNN; ", i)
	}
	text := b.String()
	for _, detect := range []bool{true, false} {
		var fs []Finding
		if detect {
			fs = r.Detect(text, &Policy{})
		} else {
			var err error
			if _, fs, err = r.Redact(text, &Policy{}); err != nil {
				t.Fatal(err)
			}
		}
		if len(fs) != 80 {
			t.Fatalf("detect=%v: %d findings, want 80", detect, len(fs))
		}
		for _, f := range fs {
			v := text[f.UTF8.Start:f.UTF8.End]
			if want := r.Keys.Fingerprint(v); f.Fingerprint != want {
				t.Errorf("detect=%v: %q at %d: fingerprint %q, want %q", detect, v, f.UTF8.Start, f.Fingerprint, want)
			}
		}
		if fs[0].Fingerprint == fs[2].Fingerprint || fs[1].Fingerprint != fs[79].Fingerprint {
			t.Errorf("detect=%v: distinct values share a fingerprint or one value has two", detect)
		}
	}
	if _, fs, err := (&Redactor{Engine: r.Engine}).Redact(text, &Policy{}); err != nil || fs[0].Fingerprint != "" {
		t.Errorf("without keys: err %v, fingerprint %q", err, fs[0].Fingerprint)
	}
}
