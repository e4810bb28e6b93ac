package suite

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
)

func TestStartCheckStop(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := DefaultOptions()
	o.Reporting.Database, o.Reporting.ReportDir = filepath.Join(t.TempDir(), "findings.db"), t.TempDir()
	s, err := Start(ctx, slog.New(slog.DiscardHandler), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Endpoints) != len(components(o)) {
		t.Fatalf("%d endpoints, want %d", len(s.Endpoints), len(components(o)))
	}
	if err := s.CheckHealth(ctx); err != nil {
		t.Fatalf("CheckHealth() = %v", err)
	}
	evaluationUsesRedaction(ctx, t, s)
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop() = %v", err)
	}
	stopped, cancelStopped := context.WithTimeout(ctx, time.Second)
	defer cancelStopped()
	if err := s.CheckHealth(stopped); err == nil {
		t.Fatal("CheckHealth() after Stop() = nil, want an error")
	}
}

// evaluationUsesRedaction: the suite's EvaluationService reaches the suite's
// RedactionService, so free-form evidence comes back redacted.
func evaluationUsesRedaction(ctx context.Context, t *testing.T, s *Suite) {
	t.Helper()
	var addr string
	for _, e := range s.Endpoints {
		if e.Name == "evaluation" {
			addr = e.Addr
		}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := evaluationv1.NewEvaluationServiceClient(conn).Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	attrs, _ := structpb.NewStruct(map[string]any{})
	_ = stream.Send(&evaluationv1.EvaluateRequest{Payload: &evaluationv1.EvaluateRequest_Context{Context: &evaluationv1.EvaluationContext{
		SweepId: "suite", AccountId: "111122223333", Region: "eu-west-1", ControlIds: []string{"DPS-FFT-004"}}}})
	_ = stream.Send(&evaluationv1.EvaluateRequest{Payload: &evaluationv1.EvaluateRequest_Inventory{Inventory: &collectionv1.CollectInventoryResponse{
		Resources: []*collectionv1.Resource{{Arn: "arn:aws:catalog:eu-west-1:111122223333:tagoption/tag-a", ResourceType: "AWS::ServiceCatalog::TagOption",
			AccountId: "111122223333", Region: "eu-west-1", Attributes: attrs, FreeFormFields: []*collectionv1.FreeFormField{
				{Path: "Value", Kind: collectionv1.FieldKind_FIELD_KIND_TAG_VALUE, Value: "owner jane@example.org"}}}}}}})
	_ = stream.CloseSend()
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if len(resp.GetFindings()) != 1 || resp.GetFindings()[0].GetEvidence().GetRedactedText() != "owner [EMAIL_ADDRESS]" {
		t.Fatalf("Evaluate = %v", resp)
	}
}
