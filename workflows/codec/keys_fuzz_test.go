package codec

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzParseKeys checks that the keyring parser never panics, that an error
// never echoes a secret that was given, and that every key it accepts has a
// valid, unique ID and survives being written back and parsed again.
func FuzzParseKeys(f *testing.F) {
	secret := base64.StdEncoding.EncodeToString(make([]byte, KeySize))
	for _, s := range []string{
		secret, "k1:" + secret, "# comment\n\nk1:" + secret + "\nk2:" + secret + "\n", "k1:" + secret + ", k2:" + secret,
		"k1:" + secret + "\nk1:" + secret, secret + "\n" + secret, "k1:" + strings.TrimRight(secret, "="), "k1:short", "", ":::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		keys, err := ParseKeys(text)
		if err != nil {
			return
		}
		var b strings.Builder
		seen := map[string]bool{}
		for _, k := range keys {
			if !validKeyID(k.ID) || seen[k.ID] {
				t.Fatalf("accepted key ID %q (invalid or twice)", k.ID)
			}
			seen[k.ID] = true
			if strings.Contains(k.String(), base64.StdEncoding.EncodeToString(k.Secret[:])) {
				t.Fatal("a key's String shows its secret")
			}
			b.WriteString(k.ID + ":" + base64.StdEncoding.EncodeToString(k.Secret[:]) + "\n")
		}
		again, err := ParseKeys(b.String())
		if err != nil {
			t.Fatalf("accepted keys written back do not parse: %v", err)
		}
		if len(again) != len(keys) {
			t.Fatalf("%d keys, %d after a round trip", len(keys), len(again))
		}
		for i := range keys {
			if again[i] != keys[i] {
				t.Fatalf("key %d changed in a round trip", i)
			}
		}
	})
}
