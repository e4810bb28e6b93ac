package evaluation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
)

// largeChunk is n resources of one region starting at index from: half
// catalogue products with seven free-form fields (one in five holding an
// account number), half KMS keys — what a busy account-region holds.
func largeChunk(t *testing.T, from, n int) []*collectionv1.Resource {
	rs := make([]*collectionv1.Resource, 0, n)
	for i := from; i < from+n; i++ {
		if i%2 == 1 {
			rs = append(rs, res(t, "AWS::KMS::Key", fmt.Sprintf("arn:aws:kms:eu-west-1:111122223333:key/%08d-6c7c-4d4e-9c1e-2b4b0d2f1a11", i), "eu-west-1",
				map[string]any{"manager": "CUSTOMER", "spec": "SYMMETRIC_DEFAULT", "state": "Enabled", "rotation_enabled": i%3 == 0}))
			continue
		}
		desc := fmt.Sprintf("Shared network baseline number %d for every team in the platform organisation.", i)
		if i%5 == 0 {
			desc += fmt.Sprintf(" Billing account %d.", 493817265012+i)
		}
		rs = append(rs, res(t, "AWS::ServiceCatalog::Product", fmt.Sprintf("arn:aws:catalog:eu-west-1:111122223333:product/prod-%013d", i), "eu-west-1",
			map[string]any{"product_id": fmt.Sprint(i)},
			&collectionv1.FreeFormField{Path: "Name", Kind: collectionv1.FieldKind_FIELD_KIND_NAME, Value: fmt.Sprintf("Network Baseline %d", i)},
			&collectionv1.FreeFormField{Path: "Owner", Kind: collectionv1.FieldKind_FIELD_KIND_OWNER, Value: "Network Platform Team"},
			&collectionv1.FreeFormField{Path: "Description", Kind: collectionv1.FieldKind_FIELD_KIND_DESCRIPTION, Value: desc},
			&collectionv1.FreeFormField{Path: "SupportEmail", Kind: collectionv1.FieldKind_FIELD_KIND_OTHER, Value: "cloud-support@example-corp.com"},
			&collectionv1.FreeFormField{Path: "SupportUrl", Kind: collectionv1.FieldKind_FIELD_KIND_URL, Value: "https://wiki.example-corp.com/network"},
			&collectionv1.FreeFormField{Path: "Tags[Owner]", Kind: collectionv1.FieldKind_FIELD_KIND_TAG_VALUE, Value: "team network"},
			&collectionv1.FreeFormField{Path: "ProvisioningArtifacts[pa-abcdefghijklm].TemplateUrl", Kind: collectionv1.FieldKind_FIELD_KIND_URL,
				Value: fmt.Sprintf("https://templates-111122223333.s3.amazonaws.com/prod-%013d/v1.yaml", i)}))
	}
	return rs
}

// peakEvaluate evaluates an inventory of n resources, sent in chunks of
// 500 and generated as it goes, through the real redaction and evaluation
// services, reading findings as they come and keeping only their count. It
// returns the findings and the largest heap in use above the starting one.
func peakEvaluate(t *testing.T, c evaluationv1.EvaluationServiceClient, n int) (int, uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	stop, stopped := make(chan struct{}), make(chan uint64)
	go func() {
		var m runtime.MemStats
		var hi uint64
		for {
			runtime.ReadMemStats(&m)
			hi = max(hi, m.HeapInuse)
			select {
			case <-stop:
				stopped <- hi
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	stream, err := c.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sendErr := make(chan error, 1)
	go func() {
		if err := stream.Send(ctxMsg(&evaluationv1.EvaluationContext{SweepId: "mem", AccountId: acct, Region: "eu-west-1"})); err != nil {
			sendErr <- err
			return
		}
		for from := 0; from < n; from += 500 {
			if err := stream.Send(invMsg(largeChunk(t, from, min(500, n-from)))); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- stream.CloseSend()
	}()
	findings := 0
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			t.Fatal("no summary")
		}
		if err != nil {
			t.Fatal(err)
		}
		findings += len(m.GetFindings())
		if m.GetSummary() != nil {
			break
		}
	}
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	close(stop)
	hi := <-stopped
	if hi < base.HeapInuse {
		return findings, 0
	}
	return findings, hi - base.HeapInuse
}

// TestEvaluationMemoryOnALargeAccountRegion: the evaluation service holds
// one account-region's inventory while it evaluates it (up to
// --max-resources), so its memory grows with the inventory — linearly, and
// within a budget per resource. A 10,000-resource account-region (the
// collectors stream it; see TestTenThousandBuckets) must stay under 256 MiB
// of heap for client and both services together, and grow less than 6x
// from 2,500 resources (4x is linear; a quadratic structure would be 16x).
func TestEvaluationMemoryOnALargeAccountRegion(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates 12,500 resources; skipped with -short")
	}
	c, _ := start(t, nil)
	small, smallPeak := peakEvaluate(t, c, 2500)
	large, largePeak := peakEvaluate(t, c, 10000)
	t.Logf("2,500 resources: %d findings, heap peak +%.1f MiB; 10,000 resources: %d findings, heap peak +%.1f MiB (%.1f KiB per resource)",
		small, float64(smallPeak)/(1<<20), large, float64(largePeak)/(1<<20), float64(largePeak)/10000/1024)
	if small == 0 || large < 4*small-100 || large > 4*small+100 {
		t.Fatalf("findings: %d for 2,500 resources, %d for 10,000; want about four times as many", small, large)
	}
	if largePeak > 256<<20 {
		t.Errorf("evaluating 10,000 resources took %.0f MiB of heap; the budget is 256 MiB", float64(largePeak)/(1<<20))
	}
	if smallPeak > 0 && float64(largePeak)/float64(smallPeak) > 6 {
		t.Errorf("heap grew %.1fx from 2,500 to 10,000 resources; want under 6x (linear is 4x)", float64(largePeak)/float64(smallPeak))
	}
}
