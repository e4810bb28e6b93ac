package redaction

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	"github.com/dpsweep/dpsweep/services/redaction/engine"
)

// FuzzPolicyFile checks that the --policy-file parser and the conversion of
// each policy into the engine's never panic: a bad file or an unknown entity
// type is an error.
func FuzzPolicyFile(f *testing.F) {
	builtin, err := protojson.Marshal(&redactionv1.ListPoliciesResponse{Policies: builtinPolicies()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(builtin)
	f.Add([]byte(`{"policies": [{"name": "p", "policy": {"entityTypes": ["EMAIL_ADDRESS"], "minConfidence": 2, "operators": {"EMAIL_ADDRESS": {}}}}]}`))
	f.Add([]byte(`{"policies": [{"name": "p", "policy": {"operators": {"NOT_A_TYPE": {}}}}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	e := engine.New()
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(dir, "policies.json")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		list, err := loadPolicies(file)
		if err != nil {
			return
		}
		for _, np := range list {
			p, err := toPolicy(e, np.GetPolicy(), "policy.")
			if err == nil && p == nil {
				t.Fatal("no policy and no error")
			}
		}
	})
}
