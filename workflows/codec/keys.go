package codec

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// EnvKey is the environment variable [LoadKeyEnv] reads the keyring from.
const EnvKey = "DPSWEEP_TEMPORAL_KEY"

// DefaultKeyID is the ID of a key given as bare base64, without "id:".
const DefaultKeyID = "default"

// KeySize is the size of a secret: AES-256.
const KeySize = 32

// maxKeyFileBytes bounds what LoadKeyFile reads; a keyring is a few lines.
const maxKeyFileBytes = 64 << 10

// ErrNoKeys is returned, wrapped, when a source holds no key at all.
var ErrNoKeys = errors.New("no Temporal payload keys")

// Key is one AES-256 key of a keyring. ID names it in every payload it
// encrypts (in plain text), so it must not say anything secret.
type Key struct {
	ID     string
	Secret [KeySize]byte
}

// String names the key without its secret, so a Key logged or printed by
// mistake does not leak it.
func (k Key) String() string { return fmt.Sprintf("codec.Key{ID: %q, Secret: <redacted>}", k.ID) }

// GoString is String, for %#v.
func (k Key) GoString() string { return k.String() }

// validKeyID reports whether id is usable as a key ID: 1 to 64 characters
// from [A-Za-z0-9._-].
func validKeyID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// looksLikeSecret reports whether s decodes as a base64 secret of KeySize.
func looksLikeSecret(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return true
		}
	}
	return false
}

// ParseKeys reads a keyring: one key per line (or per comma-separated entry)
// as "id:base64", where base64 decodes to exactly 32 bytes; a keyring of a
// single entry may leave out "id:" and gets the ID "default". Blank lines and
// lines starting with '#' are ignored. The first key is the one that
// encrypts. Errors name the line and the key ID, never the secret.
func ParseKeys(text string) ([]Key, error) {
	return parseKeys(text, "key text")
}

func parseKeys(text, source string) ([]Key, error) {
	type entry struct {
		line  int
		value string
	}
	var entries []entry
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for v := range strings.SplitSeq(line, ",") {
			if v = strings.TrimSpace(v); v != "" {
				entries = append(entries, entry{n + 1, v})
			}
		}
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s: %w: expected lines of id:base64(32 random bytes)", source, ErrNoKeys)
	}

	keys := make([]Key, 0, len(entries))
	seen := map[string]int{}
	for _, e := range entries {
		where := fmt.Sprintf("%s line %d", source, e.line)
		id, b64, hasID := strings.Cut(e.value, ":")
		if !hasID {
			if len(entries) > 1 {
				return nil, fmt.Errorf("%s: key has no ID; with more than one key every entry must be id:base64", where)
			}
			id, b64 = DefaultKeyID, e.value
		}
		id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
		if looksLikeSecret(id) {
			// Never echo it: it is probably the secret, written first.
			return nil, fmt.Errorf("%s: the key ID looks like a base64 secret; write each key as id:base64", where)
		}
		if !validKeyID(id) {
			// An invalid ID is not echoed either: it may hold key material.
			return nil, fmt.Errorf("%s: key ID is not valid: use 1 to 64 characters from A-Z a-z 0-9 . _ -", where)
		}
		if prev, dup := seen[id]; dup {
			return nil, fmt.Errorf("%s: key ID %q already used on line %d", where, id, prev)
		}
		seen[id] = e.line
		secret, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			secret, err = base64.RawStdEncoding.DecodeString(b64)
		}
		if err != nil {
			// The decoder's error gives a byte offset, not the input.
			return nil, fmt.Errorf("%s: key %q is not valid standard base64: %v", where, id, err)
		}
		if len(secret) != KeySize {
			return nil, fmt.Errorf("%s: key %q is %d bytes, want %d (AES-256); make one with: head -c 32 /dev/urandom | base64", where, id, len(secret), KeySize)
		}
		k := Key{ID: id}
		copy(k.Secret[:], secret)
		clear(secret)
		keys = append(keys, k)
	}
	return keys, nil
}

// LoadKeyFile reads a keyring (see [ParseKeys]) from a file. The file must be
// a regular file readable by its owner only (mode 0600 or 0400): a key file
// that group or others can read or write is refused, with the command that
// fixes it. (Windows has no such mode bits; the check is skipped there.)
func LoadKeyFile(path string) ([]Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("temporal key file: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the file checked is the file read.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("temporal key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("temporal key file %s is not a regular file (%s)", path, fi.Mode().Type())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("temporal key file %s has mode %04o, so users other than its owner can read or change the keys; make it private with: chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("temporal key file %s: %w", path, err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("temporal key file %s is larger than %d KiB; it should hold a few lines of id:base64", path, maxKeyFileBytes>>10)
	}
	return parseKeys(string(data), "temporal key file "+path)
}

// LoadKeyEnv reads a keyring (see [ParseKeys]) from the environment variable
// DPSWEEP_TEMPORAL_KEY. An unset or empty variable is an error wrapping
// [ErrNoKeys].
func LoadKeyEnv() ([]Key, error) {
	v := os.Getenv(EnvKey)
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%w: %s is not set", ErrNoKeys, EnvKey)
	}
	return parseKeys(v, "$"+EnvKey)
}

// LoadKeys reads the keyring from the file at path when path is not empty,
// otherwise from DPSWEEP_TEMPORAL_KEY.
func LoadKeys(path string) ([]Key, error) {
	if path != "" {
		return LoadKeyFile(path)
	}
	return LoadKeyEnv()
}
