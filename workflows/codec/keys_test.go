package codec

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func b64(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func writeKeyFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "temporal.keys")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is masked by umask
		t.Fatal(err)
	}
	return path
}

func keyIDs(keys []Key) string {
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	return strings.Join(ids, ",")
}

func TestParseKeys(t *testing.T) {
	secret := b64(32)
	raw := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	cases := []struct {
		name, text, ids string
	}{
		{"bare base64", secret + "\n", "default"},
		{"bare base64 without padding", raw, "default"},
		{"one with ID", "k1:" + secret, "k1"},
		{"several, comments, blanks, CRLF", "# current first\r\nk2025:" + secret + "\r\n\n  # old\nk2024:" + secret + "\n", "k2025,k2024"},
		{"comma separated", "a:" + secret + ", b.c_d-1:" + secret, "a,b.c_d-1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keys, err := ParseKeys(c.text)
			if err != nil {
				t.Fatal(err)
			}
			if got := keyIDs(keys); got != c.ids {
				t.Fatalf("IDs = %s, want %s", got, c.ids)
			}
			want, _ := base64.StdEncoding.DecodeString(secret)
			if c.name != "bare base64 without padding" && string(keys[0].Secret[:]) != string(want) {
				t.Error("secret not decoded")
			}
		})
	}
}

func TestParseKeysErrors(t *testing.T) {
	short := b64(16)
	cases := []struct {
		name, text string
		want       []string // substrings of the error
	}{
		{"empty", "\n# nothing\n", []string{"no Temporal payload keys"}},
		{"16-byte key", "k1:" + short, []string{"line 1", `"k1"`, "16 bytes, want 32"}},
		{"33-byte key", "# c\nk1:" + b64(33), []string{"line 2", "33 bytes"}},
		{"not base64", "k1:not*base64", []string{`"k1"`, "base64"}},
		{"bare key among several", b64(32) + "\nk2:" + b64(32), []string{"no ID"}},
		{"duplicate ID", "k1:" + b64(32) + "\nk1:" + b64(32), []string{`"k1"`, "line 1"}},
		{"bad ID", "a b:" + b64(32), []string{"not valid"}},
		{"secret and ID swapped", base64.RawStdEncoding.EncodeToString(make([]byte, 32)) + ":k1", []string{"looks like a base64 secret"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseKeys(c.text)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			// No error echoes key material.
			for _, s := range []string{short, b64(32), b64(33), base64.RawStdEncoding.EncodeToString(make([]byte, 32))} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q reveals key material", err)
				}
			}
		})
	}
	if _, err := ParseKeys(""); !errors.Is(err, ErrNoKeys) {
		t.Errorf("empty text: %v, want ErrNoKeys", err)
	}
}

func TestLoadKeyFile(t *testing.T) {
	content := "k2025:" + b64(32) + "\nk2024:" + b64(32) + "\n"
	for _, mode := range []os.FileMode{0o600, 0o400} {
		keys, err := LoadKeyFile(writeKeyFile(t, content, mode))
		if err != nil {
			t.Fatalf("mode %04o: %v", mode, err)
		}
		if keyIDs(keys) != "k2025,k2024" {
			t.Fatalf("IDs = %s", keyIDs(keys))
		}
	}
}

func TestLoadKeyFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix mode bits")
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		path := writeKeyFile(t, "k1:"+b64(32), mode)
		_, err := LoadKeyFile(path)
		if err == nil {
			t.Fatalf("mode %04o accepted", mode)
		}
		msg := err.Error()
		for _, w := range []string{path, "chmod 600 " + path, "other than its owner"} {
			if !strings.Contains(msg, w) {
				t.Errorf("mode %04o: error %q does not contain %q", mode, msg, w)
			}
		}
		if strings.Contains(msg, b64(32)) {
			t.Errorf("error reveals the key: %s", msg)
		}
	}
}

func TestLoadKeyFileErrors(t *testing.T) {
	t.Run("wrong size names the file and line", func(t *testing.T) {
		path := writeKeyFile(t, "# keys\nk1:"+b64(24)+"\n", 0o600)
		_, err := LoadKeyFile(path)
		if err == nil || !strings.Contains(err.Error(), path+" line 2") || !strings.Contains(err.Error(), "24 bytes, want 32") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope")
		_, err := LoadKeyFile(path)
		if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKeyFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if _, err := LoadKeyFile(writeKeyFile(t, "", 0o600)); !errors.Is(err, ErrNoKeys) {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("huge", func(t *testing.T) {
		big := strings.Repeat("# padding padding padding\n", 4000)
		if _, err := LoadKeyFile(writeKeyFile(t, big, 0o600)); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestLoadKeyEnv(t *testing.T) {
	t.Setenv(EnvKey, "")
	if _, err := LoadKeyEnv(); !errors.Is(err, ErrNoKeys) || !strings.Contains(err.Error(), EnvKey) {
		t.Fatalf("unset: %v", err)
	}
	t.Setenv(EnvKey, b64(32))
	keys, err := LoadKeys("")
	if err != nil || keyIDs(keys) != "default" {
		t.Fatalf("bare: %v %v", keys, err)
	}
	t.Setenv(EnvKey, "new:"+b64(32)+",old:"+b64(32))
	keys, err = LoadKeyEnv()
	if err != nil || keyIDs(keys) != "new,old" {
		t.Fatalf("two keys: %v %v", keys, err)
	}
	t.Setenv(EnvKey, "k:"+b64(31))
	if _, err := LoadKeyEnv(); err == nil || !strings.Contains(err.Error(), "$"+EnvKey) || !strings.Contains(err.Error(), "31 bytes") {
		t.Fatalf("short: %v", err)
	}
	// A path wins over the environment.
	path := writeKeyFile(t, "file:"+b64(32), 0o600)
	if keys, err := LoadKeys(path); err != nil || keyIDs(keys) != "file" {
		t.Fatalf("LoadKeys(path): %v %v", keys, err)
	}
}
