package engine

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A token sealed the way tokens always were (a 12-byte nonce the caller
// drew, then AES-256-GCM's ciphertext and tag) still opens: the AEAD that
// draws its own nonce keeps that layout.
func TestTokensFromExplicitNoncesStillOpen(t *testing.T) {
	t.Parallel()
	block, err := aes.NewCipher(bytes.Repeat([]byte{9}, 32)) // testKeys' encryption key
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := bytes.Repeat([]byte{1}, gcm.NonceSize())
	sealed := gcm.Seal(nonce, nonce, []byte("123-45-6789"), []byte("US_SSN"))
	text := "ssn " + encPrefix + "US_SSN:" + base64.RawURLEncoding.EncodeToString(sealed) + "] end"
	if back, n := testKeys(t).Decrypt(text); n != 1 || back != "ssn 123-45-6789 end" {
		t.Fatalf("Decrypt(old token) = %q, %d; want the value and 1", back, n)
	}
}

// With GODEBUG=fips140=only (FIPS 140-3 mode, approved algorithms only)
// keys are made, values encrypted and tokens opened: the test runs itself
// in a child process with that setting.
func TestEncryptUnderFIPS140Only(t *testing.T) {
	if os.Getenv("DPSWEEP_FIPS_CHILD") == "1" {
		r := &Redactor{Engine: New(), Keys: RandomKeys()}
		text := "token ghp_R2d9xK7mQ4vL8nP3sT6wY1zB5cF0hJ2gA9eD and ssn 123-45-6789"
		red, _, err := r.Redact(text, &Policy{Default: OperatorConfig{Operator: OperatorEncrypt}})
		if err != nil {
			t.Fatal(err)
		}
		if back, n := r.Keys.Decrypt(red); back != text || n != 2 || strings.Contains(red, "6789") {
			t.Fatalf("under fips140=only: %q → %q, %d", red, back, n)
		}
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEncryptUnderFIPS140Only$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DPSWEEP_FIPS_CHILD=1", "GODEBUG=fips140=only")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("the engine under GODEBUG=fips140=only: %v\n%s", err, out)
	}
}
