package evaluation

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
)

// FuzzLoadSuppressions checks that the suppressions-file parser never panics,
// that its errors name the file, and that what it accepts has unique IDs and
// a control ID each, and survives a round trip through protobuf JSON.
func FuzzLoadSuppressions(f *testing.F) {
	for _, s := range []string{
		"suppressions:\n  - id: public-website\n    control_id: DPS-TLS-001\n    resource_pattern: \"arn:aws:s3:::www-*\"\n    justification: static website, no personal data\n    expires_at: 2027-01-31T00:00:00Z\n",
		`{"suppressions": [{"id": "a", "controlId": "*", "justification": "j", "expiresAt": "2027-01-31T00:00:00Z"}]}`,
		"suppressions:\n  - &s {id: a, control_id: '*', justification: j, expires_at: 2027-01-31T00:00:00Z}\n  - *s\n",
		"sweep_id: x\n", "", "suppressions: 3\n", "[1, 2]\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(dir, "suppressions.yaml")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		list, err := LoadSuppressions(file)
		if err != nil {
			if !strings.Contains(err.Error(), "suppressions file") {
				t.Fatalf("error %q does not name the suppressions file", err)
			}
			return
		}
		seen := map[string]bool{}
		for i, s := range list {
			if s.GetId() == "" || s.GetControlId() == "" || seen[s.GetId()] {
				t.Fatalf("suppressions[%d] accepted without an ID or control, or twice: %v", i, s)
			}
			seen[s.GetId()] = true
			if _, err := protojson.Marshal(s); err != nil {
				t.Fatalf("suppressions[%d]: %v", i, err)
			}
		}
	})
}
