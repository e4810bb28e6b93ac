package export

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
)

var (
	sarifSchemaOnce sync.Once
	sarifSchema     *jsonschema.Schema
	sarifSchemaErr  error
)

// validateSARIF checks a log against the official SARIF 2.1.0 JSON schema
// (testdata/sarif-schema-2.1.0.json; testdata/README.md says where it
// comes from), with format assertions (uri, date-time) on.
func validateSARIF(t *testing.T, log []byte) {
	t.Helper()
	sarifSchemaOnce.Do(func() {
		f, err := os.Open(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
		if err != nil {
			sarifSchemaErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			sarifSchemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource(SARIFSchemaURI, doc); err != nil {
			sarifSchemaErr = err
			return
		}
		sarifSchema, sarifSchemaErr = c.Compile(SARIFSchemaURI)
	})
	if sarifSchemaErr != nil {
		t.Fatalf("SARIF schema: %v", sarifSchemaErr)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(log))
	if err != nil {
		t.Fatalf("SARIF log is not JSON: %v", err)
	}
	if err := sarifSchema.Validate(v); err != nil {
		t.Fatalf("SARIF log does not validate against the 2.1.0 schema: %v", err)
	}
}

func TestSARIFValidatesAgainstSchema(t *testing.T) {
	t.Parallel()
	got, _ := export(t, NewSARIFExporter(), fixture())
	validateSARIF(t, got)
}

// TestSARIFSchemaCatchesMistakes makes sure the validation is not vacuous.
func TestSARIFSchemaCatchesMistakes(t *testing.T) {
	t.Parallel()
	got, _ := export(t, NewSARIFExporter(), fixture())
	validateSARIF(t, got) // compiles the schema
	for name, mutate := range map[string]func(map[string]any){
		"wrong version":  func(m map[string]any) { m["version"] = "2.0.0" },
		"no runs":        func(m map[string]any) { delete(m, "runs") },
		"unknown member": func(m map[string]any) { m["findings"] = []any{} },
		"bad level": func(m map[string]any) {
			run := m["runs"].([]any)[0].(map[string]any)
			run["results"].([]any)[0].(map[string]any)["level"] = "critical"
		},
	} {
		var m map[string]any
		if err := json.Unmarshal(got, &m); err != nil {
			t.Fatal(err)
		}
		mutate(m)
		b, _ := json.Marshal(m)
		v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if sarifSchema.Validate(v) == nil {
			t.Errorf("%s: validated", name)
		}
	}
}

func TestSARIFMapping(t *testing.T) {
	t.Parallel()
	got, n := export(t, NewSARIFExporter(), fixture())
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Name, Version, InformationURI string
					Rules                         []struct {
						ID                   string
						ShortDescription     struct{ Text string }
						DefaultConfiguration struct{ Level string }
					}
				}
			}
			Results []struct {
				RuleID      string
				RuleIndex   int
				Kind, Level string
				Message     struct{ Text string }
				Locations   []struct {
					LogicalLocations []struct{ Name, FullyQualifiedName, Kind string }
				}
				PartialFingerprints map[string]string
				Suppressions        []struct{ Kind, Status, Justification string }
				Properties          map[string]any
			}
		}
	}
	if err := json.Unmarshal(got, &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("%d runs", len(log.Runs))
	}
	run := log.Runs[0]
	d := run.Tool.Driver
	if d.Name != "dpsweep" || d.Version != "1.2.3" || d.InformationURI == "" {
		t.Errorf("driver = %+v", d)
	}
	var ruleIDs []string
	for _, r := range d.Rules {
		ruleIDs = append(ruleIDs, r.ID)
	}
	// Distinct controls of the reported (non-PASS) findings, sorted.
	if want := []string{"DPS-DDB-002", "DPS-IAM-001", "DPS-IAM-003", "DPS-KMS-001", "DPS-MAC-001", "DPS-S3-001", "DPS-SC-004"}; !slices.Equal(ruleIDs, want) {
		t.Errorf("rules = %v, want %v", ruleIDs, want)
	}
	if int64(len(run.Results)) != n {
		t.Errorf("%d results, Export said %d", len(run.Results), n)
	}
	byRule := map[string]int{}
	for _, r := range d.Rules {
		byRule[r.ID] = len(byRule)
	}
	want := map[string]*evaluationv1.Finding{}
	for _, f := range fixtureFindings() {
		if f.Status != evaluationv1.FindingStatus_FINDING_STATUS_PASS {
			want[f.Id] = f
		}
	}
	for _, r := range run.Results {
		id, _ := r.Properties["findingId"].(string)
		f, ok := want[id]
		if !ok {
			t.Errorf("result for unknown or PASS finding %q", id)
			continue
		}
		delete(want, id)
		if r.RuleID != f.ControlId || r.RuleIndex != byRule[f.ControlId] || d.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("%s: rule %s index %d", id, r.RuleID, r.RuleIndex)
		}
		wantKind, wantLevel := "fail", map[evaluationv1.Severity]string{
			evaluationv1.Severity_SEVERITY_CRITICAL: "error", evaluationv1.Severity_SEVERITY_HIGH: "error",
			evaluationv1.Severity_SEVERITY_MEDIUM: "warning", evaluationv1.Severity_SEVERITY_LOW: "note",
			evaluationv1.Severity_SEVERITY_INFORMATIONAL: "note",
		}[f.Severity]
		if f.Status == evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED {
			wantKind, wantLevel = "open", "none"
			if r.Properties["notAssessedReason"] != reasonName(f.NotAssessedReason) {
				t.Errorf("%s: reason %v", id, r.Properties["notAssessedReason"])
			}
		}
		if r.Kind != wantKind || r.Level != wantLevel {
			t.Errorf("%s (%s %s): kind %s level %s, want %s %s", id, f.Status, f.Severity, r.Kind, r.Level, wantKind, wantLevel)
		}
		if r.Message.Text != f.Evidence.Summary {
			t.Errorf("%s: message %q", id, r.Message.Text)
		}
		if len(r.Locations) != 1 || len(r.Locations[0].LogicalLocations) != 1 ||
			r.Locations[0].LogicalLocations[0].FullyQualifiedName != resourceID(f) || r.Locations[0].LogicalLocations[0].Kind != "resource" {
			t.Errorf("%s: locations %+v", id, r.Locations)
		}
		if r.PartialFingerprints[sarifFingerprint] != FindingKey(f) {
			t.Errorf("%s: fingerprints %v", id, r.PartialFingerprints)
		}
		if f.Suppressed {
			if len(r.Suppressions) != 1 || r.Suppressions[0].Kind != "external" || r.Suppressions[0].Justification != f.Suppression.Justification {
				t.Errorf("%s: suppressions %+v", id, r.Suppressions)
			}
		} else if r.Suppressions == nil || len(r.Suppressions) != 0 {
			t.Errorf("%s: suppressions %+v, want []", id, r.Suppressions)
		}
	}
	if len(want) > 0 {
		t.Errorf("findings without a result: %d", len(want))
	}
}
