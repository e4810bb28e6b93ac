package engine

import (
	"context"
	"fmt"
	"testing"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	"github.com/dpsweep/dpsweep/services/evaluation/catalog"
)

// benchInventory is a regional inventory of n catalogue products (seven
// free-form fields each, one in five with a planted account number) and n
// KMS keys.
func benchInventory(b *testing.B, n int) *Input {
	in := &Input{SweepID: "bench", Account: acct, Region: "eu-west-1"}
	for i := range n {
		desc := fmt.Sprintf("Shared network baseline number %d for every team in the platform organisation.", i)
		if i%5 == 0 {
			desc += fmt.Sprintf(" Billing account %d.", 493817265012+i)
		}
		in.Resources = append(in.Resources,
			resource(b, "AWS::ServiceCatalog::Product", fmt.Sprintf("arn:aws:catalog:eu-west-1:111122223333:product/prod-%013d", i), "eu-west-1", map[string]any{"product_id": i},
				&collectionv1.FreeFormField{Path: "Name", Kind: collectionv1.FieldKind_FIELD_KIND_NAME, Value: fmt.Sprintf("Network Baseline %d", i)},
				&collectionv1.FreeFormField{Path: "Owner", Kind: collectionv1.FieldKind_FIELD_KIND_OWNER, Value: "Network Platform Team"},
				&collectionv1.FreeFormField{Path: "Description", Kind: collectionv1.FieldKind_FIELD_KIND_DESCRIPTION, Value: desc},
				&collectionv1.FreeFormField{Path: "SupportEmail", Kind: collectionv1.FieldKind_FIELD_KIND_OTHER, Value: "cloud-support@example-corp.com"},
				&collectionv1.FreeFormField{Path: "SupportUrl", Kind: collectionv1.FieldKind_FIELD_KIND_URL, Value: "https://wiki.example-corp.com/network"},
				&collectionv1.FreeFormField{Path: "Tags[Owner]", Kind: collectionv1.FieldKind_FIELD_KIND_TAG_VALUE, Value: "team network"},
				&collectionv1.FreeFormField{Path: "ProvisioningArtifacts[pa-abcdefghijklm].TemplateUrl", Kind: collectionv1.FieldKind_FIELD_KIND_URL,
					Value: fmt.Sprintf("https://templates-111122223333.s3.amazonaws.com/prod-%013d/v1.yaml", i)}),
			resource(b, "AWS::KMS::Key", fmt.Sprintf("arn:aws:kms:eu-west-1:111122223333:key/%08d-6c7c-4d4e-9c1e-2b4b0d2f1a11", i), "eu-west-1",
				map[string]any{"manager": "CUSTOMER", "spec": "SYMMETRIC_DEFAULT", "state": "Enabled", "rotation_enabled": i%3 == 0}))
	}
	return in
}

// BenchmarkEvaluate evaluates 2,000 resources with the whole catalogue and
// the redaction engine in-process (the RedactionService's own cost is in
// bench/redaction); it reports resources per second.
func BenchmarkEvaluate(b *testing.B) {
	in := benchInventory(b, 1000)
	e, _ := newEngine(b, catalog.Builtin(), now)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Evaluate(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(in.Resources)*b.N)/b.Elapsed().Seconds(), "resources/s")
}
