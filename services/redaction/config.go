package redaction

import (
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
)

// DefaultMaxTextBytes is the largest text a request may carry by default.
const DefaultMaxTextBytes = 1 << 20

// Config is the redaction service's own configuration (flags and
// DPSWEEP_REDACTION_* environment variables).
type Config struct {
	// MaxTextBytes bounds each text of a request.
	MaxTextBytes int
	// HashKeyFile holds the HMAC key (32+ bytes, hex or base64) for the
	// hash operator and finding fingerprints. Without it a random key is
	// used and pseudonyms change when the process restarts.
	HashKeyFile string
	// EncryptionKeyFile holds the AES-256 key (32 bytes, hex or base64) of
	// the encrypt operator. Without it a random key is used.
	EncryptionKeyFile string
	// PolicyFile holds named policies in JSON (a ListPoliciesResponse).
	PolicyFile string
	// DecryptIdentities lists the client identities (certificate common
	// name, DNS or URI SAN) allowed to call Decrypt; nobody when empty.
	DecryptIdentities string
}

// DefaultConfig is the configuration with every default.
func DefaultConfig() Config {
	return Config{MaxTextBytes: DefaultMaxTextBytes}
}

// RegisterFlags defines the service's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.MaxTextBytes, "max-text-bytes", DefaultMaxTextBytes, "largest text accepted per request field, in bytes")
	fs.StringVar(&c.HashKeyFile, "hash-key-file", "", "file with the HMAC key (32+ bytes, hex or base64) for pseudonyms and fingerprints; random per process when empty")
	fs.StringVar(&c.EncryptionKeyFile, "encryption-key-file", "", "file with the AES-256 key (32 bytes, hex or base64) of the encrypt operator; random per process when empty")
	fs.StringVar(&c.PolicyFile, "policy-file", "", "JSON file of named policies to add to the built-in ones")
	fs.StringVar(&c.DecryptIdentities, "decrypt-identities", "", "comma-separated client certificate identities (CN, DNS or URI SAN) allowed to call Decrypt; requires mutual TLS")
}

// readKey reads a key file holding hex or base64 (or exactly want raw bytes).
func readKey(file string, min int) ([]byte, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	s := strings.TrimSpace(string(raw))
	if k, err := hex.DecodeString(s); err == nil && len(k) >= min {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) >= min {
		return k, nil
	}
	if len(raw) >= min {
		return raw, nil
	}
	return nil, fmt.Errorf("key file %s: want at least %d bytes, hex or base64 encoded", file, min)
}
