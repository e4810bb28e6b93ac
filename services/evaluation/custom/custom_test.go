package custom

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	"github.com/dpsweep/dpsweep/services/evaluation/catalog"
)

// load loads paths that must load, and checks what every loaded control
// must be: valid, custom, from its file, passing its own fixtures.
func load(t *testing.T, paths ...string) map[string]*catalog.Control {
	t.Helper()
	controls, err := Load(paths...)
	if err != nil {
		t.Fatalf("Load(%q): %v", paths, err)
	}
	out := map[string]*catalog.Control{}
	for _, c := range controls {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", c.ID, err)
		}
		if c.Source != evaluationv1.ControlSource_CONTROL_SOURCE_CUSTOM || c.SourceFile == "" {
			t.Errorf("%s: source %v, file %q, want CUSTOM and its file", c.ID, c.Source, c.SourceFile)
		}
		for _, fx := range c.Pass {
			if got := c.Check(&fx.Resource, &fx.Env).Status; got != catalog.Pass {
				t.Errorf("%s: pass fixture %s: got %v, want PASS", c.ID, fx.Name, got)
			}
		}
		for _, fx := range c.Fail {
			if got := c.Check(&fx.Resource, &fx.Env).Status; got != catalog.Fail {
				t.Errorf("%s: fail fixture %s: got %v, want FAIL", c.ID, fx.Name, got)
			}
		}
		out[c.ID] = c
	}
	return out
}

func TestLoadValidFile(t *testing.T) {
	controls := load(t, "testdata/valid.yaml")
	if len(controls) != 2 {
		t.Fatalf("loaded %d controls, want 2", len(controls))
	}
	first, second := controls["ACME-S3-001"], controls["ACME-S3-002"]
	if first == nil || second == nil {
		t.Fatalf("loaded %v, want ACME-S3-001 and ACME-S3-002", controls)
	}
	tests := map[string]struct {
		got, want any
	}{
		"severity is case-insensitive":           {first.Severity, evaluationv1.Severity_SEVERITY_HIGH},
		"description defaults to the title":      {first.Description, first.Title},
		"category defaults to custom":            {first.Category, "custom"},
		"rationale has a default":                {first.Rationale, "Custom control."},
		"remediation has a default":              {len(first.Remediation), 1},
		"source file is the path":                {first.SourceFile, "testdata/valid.yaml"},
		"fixture type is the first type":         {first.Pass[0].Resource.Type, "AWS::S3::Bucket"},
		"fixture ARN":                            {first.Pass[0].Resource.ARN, "arn:aws:test:us-east-1:111122223333:fixture"},
		"fixture account":                        {first.Pass[0].Resource.Account, "111122223333"},
		"fail fixtures":                          {len(first.Fail), 2},
		"given description":                      {second.Description, "Every bucket outside us-east-1 has a default encryption configuration."},
		"given category":                         {second.Category, "encryption"},
		"given remediation":                      {strings.Join(second.Remediation, "|"), "Turn on default encryption (SSE-KMS preferred)."},
		"given severity":                         {second.Severity, evaluationv1.Severity_SEVERITY_MEDIUM},
		"example sets the resource name":         {second.Fail[0].Resource.Name, "unencrypted"},
		"example numbers are float64 like Attrs": {fmt.Sprintf("%T", mustParseOne(t, numberRule).Pass[0].Resource.Attrs["count"]), "float64"},
	}
	for desc, tc := range tests {
		t.Run(desc, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

const numberRule = `
controls:
  - id: N-1
    title: Counts are small
    severity: LOW
    resource_types: [AWS::Test::Thing]
    condition: resource.attributes.count < 3
    tests:
      pass: [{attributes: {count: 2}}]
      fail: [{attributes: {count: 3.5}}]
`

func mustParseOne(t *testing.T, src string) *catalog.Control {
	t.Helper()
	controls, err := Parse("rules.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(controls) != 1 {
		t.Fatalf("Parse: %d controls, want 1", len(controls))
	}
	return controls[0]
}

func bucket(attrs map[string]any) *catalog.Resource {
	return &catalog.Resource{ARN: "arn:aws:s3:::b", Type: "AWS::S3::Bucket", Account: "111122223333", Region: "eu-west-1", Name: "b", Attrs: attrs}
}

func TestCheck(t *testing.T) {
	controls := load(t, "testdata/valid.yaml")
	now := &catalog.Env{Now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	tests := map[string]struct {
		control     string
		attrs       map[string]any
		wantStatus  catalog.Status
		wantSummary string
	}{
		"pass": {"ACME-S3-001", map[string]any{"public_access_block": map[string]any{"block_public_policy": true}},
			catalog.Pass, "the condition holds"},
		"fail with the control's message": {"ACME-S3-001", map[string]any{"public_access_block": nil},
			catalog.Fail, "the bucket does not block public bucket policies"},
		"fail with the default message": {"ACME-S3-002", map[string]any{"region": "eu-west-1", "encryption": nil},
			catalog.Fail, "condition is false"},
		"missing attribute is not assessed": {"ACME-S3-001", map[string]any{},
			catalog.NotAssessed, "custom rule could not be evaluated: no such key: public_access_block"},
		"nil attributes are not assessed": {"ACME-S3-001", nil,
			catalog.NotAssessed, "custom rule could not be evaluated: no such key: public_access_block"},
		"attribute of the wrong type is not assessed": {"ACME-S3-001", map[string]any{"public_access_block": "s3cr3t-value"},
			catalog.NotAssessed, "custom rule could not be evaluated: "},
		"applies_if that cannot be evaluated is not assessed": {"ACME-S3-002", map[string]any{"encryption": nil},
			catalog.NotAssessed, "custom rule could not be evaluated: applies_if: no such key: region"},
		"applies_if false is not applicable": {"ACME-S3-002", map[string]any{"region": "us-east-1", "encryption": nil},
			0, ""},
	}
	for desc, tc := range tests {
		t.Run(desc, func(t *testing.T) {
			got := controls[tc.control].Check(bucket(tc.attrs), now)
			if got.Status != tc.wantStatus || !strings.HasPrefix(got.Summary, tc.wantSummary) {
				t.Errorf("got %v %q, want %v %q", got.Status, got.Summary, tc.wantStatus, tc.wantSummary)
			}
			if got.Status == catalog.NotAssessed && got.Reason != evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_MISSING_DATA {
				t.Errorf("got reason %v, want MISSING_DATA", got.Reason)
			}
			if strings.Contains(got.Summary, "s3cr3t") {
				t.Errorf("got summary %q, which holds an attribute value", got.Summary)
			}
		})
	}
}

// TestRuleSees checks the variables a rule sees: the resource's identity,
// its attributes and now, but not its free-form fields.
func TestRuleSees(t *testing.T) {
	res := &catalog.Resource{ARN: "arn:aws:s3:::b", Type: "AWS::S3::Bucket", Account: "111122223333", Region: "eu-west-1", Name: "b",
		Attrs:  map[string]any{"created": "2026-05-01T00:00:00Z", "tags": []any{"a", "b"}},
		Fields: []catalog.Field{{Path: "description", Value: "hello"}}}
	env := &catalog.Env{Now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	tests := map[string]struct {
		expr string
		want catalog.Status
	}{
		"arn":                    {`resource.arn == "arn:aws:s3:::b"`, catalog.Pass},
		"type":                   {`resource.type == "AWS::S3::Bucket"`, catalog.Pass},
		"account_id":             {`resource.account_id == "111122223333"`, catalog.Pass},
		"region":                 {`resource.region == "eu-west-1"`, catalog.Pass},
		"name":                   {`resource.name == "b"`, catalog.Pass},
		"attributes":             {`"b" in resource.attributes.tags && resource.attributes.tags.size() == 2`, catalog.Pass},
		"now":                    {`now - timestamp(resource.attributes.created) > duration("720h")`, catalog.Pass},
		"strings extension":      {`resource.type.lowerAscii() == "aws::s3::bucket"`, catalog.Pass},
		"optional values":        {`resource.attributes.?missing.orValue(1) == 1`, catalog.Pass},
		"no free-form fields":    {`"fields" in resource || "free_form_fields" in resource`, catalog.Fail},
		"exactly these six keys": {`resource.size() == 6`, catalog.Pass},
	}
	for desc, tc := range tests {
		t.Run(desc, func(t *testing.T) {
			prg, problem := compile(tc.expr)
			if problem != "" {
				t.Fatalf("compile: %s", problem)
			}
			r := &rule{condition: prg, failMessage: "false"}
			if got := r.check(res, env); got.Status != tc.want {
				t.Errorf("got %v %q, want %v", got.Status, got.Summary, tc.want)
			}
		})
	}
}

// TestSummariesHoldNoValues checks that an evaluation error does not carry a
// resource's values into the finding, whatever CEL's message says.
func TestSummariesHoldNoValues(t *testing.T) {
	res := bucket(map[string]any{"secret": "s3cr3t-value", "n": 77.0, "list": []any{"s3cr3t-item"}})
	res.Name = "s3cr3t-name"
	tests := map[string]struct {
		expr, want string
	}{
		"key from a value":         {`resource.attributes[resource.name] == 1`, "no such key"},
		"key from the rule":        {`resource.attributes.absent == 1`, "no such key: absent"},
		"timestamp of a value":     {`timestamp(resource.attributes.secret) < now`, "invalid RFC 3339 timestamp"},
		"index from a value":       {`resource.attributes.list[int(resource.attributes.n)] == "x"`, "index out of bounds"},
		"regular expression value": {`resource.name.matches(resource.attributes.secret + "[")`, "error parsing regexp"},
		"conversion":               {`int(resource.attributes.secret) == 1`, "type conversion error from"},
	}
	for desc, tc := range tests {
		t.Run(desc, func(t *testing.T) {
			prg, problem := compile(tc.expr)
			if problem != "" {
				t.Fatalf("compile: %s", problem)
			}
			got := (&rule{condition: prg}).check(res, &catalog.Env{Now: time.Now()})
			want := "custom rule could not be evaluated: " + tc.want
			if got.Status != catalog.NotAssessed || !strings.HasPrefix(got.Summary, want) || strings.Contains(got.Summary, "s3cr3t") ||
				strings.Contains(got.Summary, "77") {
				t.Errorf("got %v %q, want NOT_ASSESSED %q and no value", got.Status, got.Summary, want)
			}
		})
	}
}

// TestEvaluationIsBounded checks that an expensive rule ends NOT_ASSESSED:
// by the cost limit, or by the deadline where cel-go's cost tracking is slow.
func TestEvaluationIsBounded(t *testing.T) {
	defer func(d time.Duration) { evalTimeout = d }(evalTimeout)
	nested := "true"
	for _, v := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		nested = "[0,1,2,3,4,5,6,7,8,9].all(" + v + ", " + nested + ")"
	}
	tests := map[string]struct {
		expr    string
		timeout time.Duration
		want    string
	}{
		"cost limit": {nested, time.Minute, "cost limit of 1000000 exceeded"},
		"deadline":   {`resource.name.split("").all(c, c == "a")`, 100 * time.Millisecond, "took longer than 100ms"},
	}
	for desc, tc := range tests {
		t.Run(desc, func(t *testing.T) {
			evalTimeout = tc.timeout
			prg, problem := compile(tc.expr)
			if problem != "" {
				t.Fatalf("compile: %s", problem)
			}
			start := time.Now()
			got := (&rule{condition: prg}).check(&catalog.Resource{Name: strings.Repeat("a", 100_000)}, &catalog.Env{Now: time.Now()})
			want := "custom rule could not be evaluated: " + tc.want
			if elapsed := time.Since(start); got.Status != catalog.NotAssessed || got.Summary != want || elapsed > tc.timeout+time.Second {
				t.Errorf("got %v %q after %v, want NOT_ASSESSED %q", got.Status, got.Summary, elapsed, want)
			}
		})
	}
}

// errorLine is the shape of every line of a load error.
var errorLine = regexp.MustCompile(`^[^:]+:[0-9]+: `)

func TestLoadErrors(t *testing.T) {
	tests := map[string]struct {
		path    string
		line    string // "<file>:<line>" of the problem
		problem string
	}{
		"YAML syntax error":        {"testdata/bad/syntax.yaml", "testdata/bad/syntax.yaml:3", "YAML: found unexpected end of stream"},
		"empty file":               {"testdata/bad/empty.yaml", "testdata/bad/empty.yaml:1", `empty document: want a mapping with the key "controls"`},
		"two YAML documents":       {"testdata/bad/two_documents.yaml", "testdata/bad/two_documents.yaml:2", "want one YAML document, found more"},
		"unknown key":              {"testdata/bad/unknown_key.yaml", "testdata/bad/unknown_key.yaml:4", `control ACME-1: unknown key "condtion"`},
		"missing condition":        {"testdata/bad/missing_condition.yaml", "testdata/bad/missing_condition.yaml:2", "control ACME-1: condition: required"},
		"missing tests":            {"testdata/bad/missing_tests.yaml", "testdata/bad/missing_tests.yaml:2", "control ACME-1: tests: required"},
		"non-bool condition":       {"testdata/bad/nonbool.yaml", "testdata/bad/nonbool.yaml:6", "control ACME-1: condition: want a bool expression, got dyn"},
		"undeclared variable":      {"testdata/bad/undeclared.yaml", "testdata/bad/undeclared.yaml:7", "control ACME-1: condition: ERROR: <input>:1:1: undeclared reference to 'resorce'"},
		"bad severity":             {"testdata/bad/severity.yaml", "testdata/bad/severity.yaml:4", `control ACME-1: severity: want one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL, got "SEVERE"`},
		"title of the wrong type":  {"testdata/bad/wrong_types.yaml", "testdata/bad/wrong_types.yaml:3", "control ACME-1: title: want a string, got a list"},
		"bad resource type":        {"testdata/bad/wrong_types.yaml", "testdata/bad/wrong_types.yaml:5", `control ACME-1: resource_types[1]: want a type like AWS::S3::Bucket, got "s3 bucket"`},
		"reserved DPS- prefix":     {"testdata/bad/reserved.yaml", "testdata/bad/reserved.yaml:3", `control DPS-S3-001: id: the prefix "DPS-" is reserved for built-in controls`},
		"duplicate ID in one file": {"testdata/bad/duplicate.yaml", "testdata/bad/duplicate.yaml:10", "control ACME-1: id: duplicate of the control at testdata/bad/duplicate.yaml:2"},
		"duplicate ID across files": {"testdata/bad/dupdir", "testdata/bad/dupdir/b.yml:11",
			"control ACME-1: id: duplicate of the control at testdata/bad/dupdir/a.yaml:2"},
		"failing fixture":        {"testdata/bad/failing_fixture.yaml", "testdata/bad/failing_fixture.yaml:12", "control ACME-1: tests.fail[1]: want FAIL, got PASS"},
		"unevaluable fixture":    {"testdata/bad/fixture_missing_key.yaml", "testdata/bad/fixture_missing_key.yaml:9", "control ACME-1: tests.pass[0]: want PASS, got NOT_ASSESSED (custom rule could not be evaluated: no such key: name)"},
		"applies_if false":       {"testdata/bad/applies_if_false.yaml", "testdata/bad/applies_if_false.yaml:10", "control ACME-1: tests.pass[0]: want PASS, got NOT_APPLICABLE"},
		"expression too long":    {"testdata/bad/too_long.yaml", "testdata/bad/too_long.yaml:6", "control ACME-1: condition: expression is 4896 characters long, over the limit of 4096"},
		"file that is not there": {"testdata/bad/absent.yaml", "testdata/bad/absent.yaml", "no such file or directory"},
	}
	for desc, tc := range tests {
		t.Run(desc, func(t *testing.T) {
			controls, err := Load(tc.path)
			if err == nil {
				t.Fatalf("got %d controls and no error, want %s: %s", len(controls), tc.line, tc.problem)
			}
			found := false
			for _, l := range strings.Split(err.Error(), "\n") {
				found = found || strings.HasPrefix(l, tc.line+": ") && strings.Contains(l, tc.problem)
				if _, statErr := os.Stat(tc.path); statErr == nil && !errorLine.MatchString(l) {
					t.Errorf("error line %q is not <file>:<line>: <problem>", l)
				}
			}
			if !found || controls != nil {
				t.Errorf("got %d controls, error:\n%v\nwant a line %s: ...%s", len(controls), err, tc.line, tc.problem)
			}
		})
	}
}

// TestLoadDirectory loads every *.yaml and *.yml of a directory but not its
// subdirectories (testdata/bad holds the broken files).
func TestLoadDirectory(t *testing.T) {
	controls := load(t, "testdata")
	if len(controls) != 2 || controls["ACME-S3-001"] == nil || controls["ACME-S3-002"] == nil {
		t.Errorf("got %d controls, want the two of testdata/valid.yaml", len(controls))
	}
}

// TestDeployedExample keeps deploy/controls/example.yaml loading.
func TestDeployedExample(t *testing.T) {
	path := filepath.Join("..", "..", "..", "deploy", "controls", "example.yaml")
	controls := load(t, path)
	if len(controls) != 2 {
		t.Fatalf("got %d controls, want 2", len(controls))
	}
	for _, c := range controls {
		if !c.AppliesTo("AWS::S3::Bucket") || c.Source != evaluationv1.ControlSource_CONTROL_SOURCE_CUSTOM || c.SourceFile != path {
			t.Errorf("%s: types %v, source %v %q, want an S3 bucket custom control from %s", c.ID, c.ResourceTypes, c.Source, c.SourceFile, path)
		}
	}
}

// FuzzParse checks that Parse never panics, that every error line names the
// file and a line, and that whatever loads is valid and passes its fixtures.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/valid.yaml", "testdata/bad/unknown_key.yaml", "testdata/bad/failing_fixture.yaml",
		"testdata/bad/syntax.yaml", "../../../deploy/controls/example.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(numberRule))
	f.Add([]byte("controls: []"))
	f.Add([]byte("controls:\n  - &a {id: X}\n  - *a\n"))
	f.Add([]byte("controls: [{id: X, tests: {pass: [{attributes: {a: !!binary aGk=, b: 2001-12-14, c: [1, {d: ~}]}}]}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		controls, err := Parse("fuzz.yaml", data)
		if err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(l, "fuzz.yaml:") || !errorLine.MatchString(l) {
					t.Fatalf("error line %q is not fuzz.yaml:<line>: <problem>", l)
				}
			}
			return
		}
		for _, c := range controls {
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, fx := range c.Pass {
				if got := c.Check(&fx.Resource, &fx.Env).Status; got != catalog.Pass {
					t.Fatalf("%s: pass fixture %s: got %v", c.ID, fx.Name, got)
				}
			}
		}
	})
}
