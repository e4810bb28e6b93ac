package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	"github.com/dpsweep/dpsweep/services/evaluation/catalog"
)

// FuzzEvaluate runs every built-in control over one resource with arbitrary
// attributes (any JSON object as its attribute Struct), type, ARN, region and
// free-form text. Evaluation must not panic; an error must be an input error;
// every finding must be well-formed: an ID, a known control, a status, the
// inventory's sweep and account, and no raw free-form text.
func FuzzEvaluate(f *testing.F) {
	for _, c := range catalog.Builtin() {
		for _, fx := range append(append([]catalog.Fixture{}, c.Pass...), c.Fail...) {
			r := fx.Resource
			attrs, err := json.Marshal(r.Attrs)
			if err != nil {
				continue
			}
			text := ""
			if len(r.Fields) > 0 {
				text = r.Fields[0].Value
			}
			f.Add(string(attrs), r.Type, r.ARN, r.Region, text)
		}
	}
	f.Add(`{"a":{"b":[1,null,"x",{"c":true}]}}`, "AWS::S3::Bucket", "arn:aws:s3:::b", "global", "maria.garcia@example-corp.com")
	f.Add(`{}`, "", "", "", "")
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	e, _ := newEngine(f, catalog.Builtin(), now)
	known := map[string]bool{}
	for _, c := range e.Controls() {
		known[c.ID] = true
	}
	f.Fuzz(func(t *testing.T, attrs, typ, arn, region, text string) {
		s := &structpb.Struct{}
		if err := protojson.Unmarshal([]byte(attrs), s); err != nil {
			return
		}
		res := &collectionv1.Resource{Arn: arn, ResourceType: typ, AccountId: acct, Region: region, Attributes: s}
		if text != "" {
			res.FreeFormFields = []*collectionv1.FreeFormField{{Path: "Description", Kind: collectionv1.FieldKind_FIELD_KIND_DESCRIPTION, Value: text}}
		}
		in := &Input{SweepID: "fuzz", Account: acct, Region: region, Resources: []*collectionv1.Resource{res}}
		out, err := e.Evaluate(context.Background(), in)
		if err != nil {
			if _, ok := err.(*InputError); !ok {
				t.Fatalf("not an input error: %T %v", err, err)
			}
			return
		}
		for _, fd := range out.Findings {
			switch {
			case fd.GetId() == "":
				t.Fatalf("finding without an ID: %v", fd)
			case !known[fd.GetControlId()]:
				t.Fatalf("finding of unknown control %q", fd.GetControlId())
			case fd.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_UNSPECIFIED:
				t.Fatalf("finding without a status: %v", fd)
			case fd.GetSweepId() != "fuzz" || fd.GetAccountId() != acct:
				t.Fatalf("finding of sweep %q account %q, want fuzz %s", fd.GetSweepId(), fd.GetAccountId(), acct)
			}
			if len(text) >= 8 && strings.Contains(fd.GetEvidence().String(), text) && strings.Contains(text, "@") {
				t.Fatalf("finding evidence carries the raw free-form text %q", text)
			}
		}
	})
}
