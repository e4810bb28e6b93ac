package engine

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	"github.com/dpsweep/dpsweep/services/evaluation/catalog"
)

// toProto turns a fixture resource into what collection streams.
func toProto(t testing.TB, r catalog.Resource) *collectionv1.Resource {
	t.Helper()
	attrs := r.Attrs
	if attrs == nil {
		attrs = map[string]any{}
	}
	s, err := structpb.NewStruct(attrs)
	if err != nil {
		t.Fatalf("fixture attributes: %v", err)
	}
	out := &collectionv1.Resource{Arn: r.ARN, ResourceType: r.Type, AccountId: r.Account, Region: r.Region, Name: r.Name, Attributes: s}
	for _, f := range r.Fields {
		out.FreeFormFields = append(out.FreeFormFields, &collectionv1.FreeFormField{Path: f.Path, Kind: f.Kind, Value: f.Value})
	}
	return out
}

func newEngine(t testing.TB, controls []*catalog.Control, now time.Time) (*Engine, *localRedactor) {
	t.Helper()
	red := newLocalRedactor()
	e, err := New(Options{Controls: controls, Redactor: red, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return e, red
}

// planted are values the fixtures plant in free-form fields: no finding may
// carry them.
var planted = []string{"493817265012", "AKIAQ3EGTXMPLR7NJ2KD", "QRTkmnp482#xyz", "maria.garcia@example-corp.com", "7946 0123", "fe4c2fb55161baf4"}

func TestCatalogueIsComplete(t *testing.T) {
	controls := catalog.Builtin()
	if len(controls) < 25 {
		t.Fatalf("the catalogue has %d controls, want at least 25", len(controls))
	}
	for _, c := range controls {
		if err := c.Validate(); err != nil {
			t.Error(err)
		}
		for _, s := range c.Seeds {
			if s.File == "" || s.Section == "" || s.Quote == "" {
				t.Errorf("%s: incomplete seed reference %+v", c.ID, s)
			}
		}
	}
}

// TestControlFixtures runs every control's own pass and fail fixtures
// through the engine, redaction included.
func TestControlFixtures(t *testing.T) {
	for _, c := range catalog.Builtin() {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			for _, fx := range c.Pass {
				t.Run("pass/"+fx.Name, func(t *testing.T) { runFixture(t, c, fx, catalog.Pass) })
			}
			for _, fx := range c.Fail {
				t.Run("fail/"+fx.Name, func(t *testing.T) { runFixture(t, c, fx, catalog.Fail) })
			}
		})
	}
}

func runFixture(t *testing.T, c *catalog.Control, fx catalog.Fixture, want catalog.Status) {
	t.Helper()
	e, _ := newEngine(t, []*catalog.Control{c}, catalog.FixtureNow)
	in := &Input{SweepID: "fixture", Account: fx.Resource.Account, Region: fx.Resource.Region, Resources: []*collectionv1.Resource{toProto(t, fx.Resource)}}
	if fx.Env.OrgAccounts != nil {
		for a := range fx.Env.OrgAccounts {
			in.OrgAccounts = append(in.OrgAccounts, a)
		}
	}
	res, err := e.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) == 0 {
		t.Fatalf("no finding, want %s", want)
	}
	got := map[string][]string{}
	for _, f := range res.Findings {
		if f.GetStatus() != want.Proto() {
			t.Errorf("finding %q: status %s (%s), want %s", f.GetFieldPath(), f.GetStatus(), f.GetEvidence().GetSummary(), want)
		}
		got[f.GetFieldPath()] = f.GetEvidence().GetEntityTypes()
		for _, p := range planted {
			if strings.Contains(f.String(), p) {
				t.Errorf("finding %q carries the planted value %q: %v", f.GetFieldPath(), p, f)
			}
		}
	}
	if c.Fields == nil || want == catalog.Pass {
		if len(res.Findings) != 1 || res.Findings[0].GetFieldPath() != "" {
			t.Errorf("want one finding on the whole resource, got %d: %v", len(res.Findings), got)
		}
		return
	}
	if len(got) != len(fx.Fields) {
		t.Errorf("offending fields %v, want %v", keys(got), keys(fx.Fields))
	}
	for path, types := range fx.Fields {
		found, ok := got[path]
		if !ok {
			t.Errorf("field %s does not offend, want %v", path, types)
			continue
		}
		for _, typ := range types {
			if !slices.Contains(found, typ) {
				t.Errorf("field %s: entity types %v, want %s among them", path, found, typ)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var _ = evaluationv1.FindingStatus_FINDING_STATUS_PASS
