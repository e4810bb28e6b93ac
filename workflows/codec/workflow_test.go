package codec

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

type describeInput struct {
	Account     string
	Description string // free-form text, as collected: holds the canaries
}

type describeResult struct {
	Account string
	Summary string
}

func describeActivity(_ context.Context, in describeInput) (describeResult, error) {
	return describeResult{Account: in.Account, Summary: "saw " + in.Description}, nil
}

func describeWorkflow(ctx workflow.Context, in describeInput) (describeResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var out describeResult
	err := workflow.ExecuteActivity(ctx, describeActivity, in).Get(ctx, &out)
	return out, err
}

// recordingConverter wraps a data converter and keeps every payload it
// produces: what a worker would send to the Temporal server.
type recordingConverter struct {
	converter.DataConverter
	mu   sync.Mutex
	sent []*commonpb.Payload
}

func (r *recordingConverter) ToPayload(v any) (*commonpb.Payload, error) {
	p, err := r.DataConverter.ToPayload(v)
	if err == nil {
		r.mu.Lock()
		r.sent = append(r.sent, p)
		r.mu.Unlock()
	}
	return p, err
}

func (r *recordingConverter) ToPayloads(v ...any) (*commonpb.Payloads, error) {
	ps, err := r.DataConverter.ToPayloads(v...)
	if err == nil {
		r.mu.Lock()
		r.sent = append(r.sent, ps.GetPayloads()...)
		r.mu.Unlock()
	}
	return ps, err
}

func TestWorkflowWithEncryptingDataConverter(t *testing.T) {
	keys := []Key{newKey(t, "k1")}
	dc, err := NewDataConverter(keys)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingConverter{DataConverter: dc}

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetDataConverter(rec)
	env.RegisterWorkflow(describeWorkflow)
	env.RegisterActivity(describeActivity)

	in := describeInput{Account: "123456789012", Description: "key " + canaryAccessKey + " owner " + canaryEmail}
	env.ExecuteWorkflow(describeWorkflow, in)

	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	var out describeResult
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Account != in.Account || out.Summary != "saw "+in.Description {
		t.Fatalf("result = %+v", out)
	}

	// Workflow input, activity input, activity result and workflow result
	// all went through the converter, and all of them encrypted.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.sent) < 4 {
		t.Fatalf("the environment encoded %d payloads, want at least 4", len(rec.sent))
	}
	t.Logf("%d payloads encoded", len(rec.sent))
	for i, p := range rec.sent {
		assertEncrypted(t, p, "k1")
		wire := mustMarshal(t, p)
		for _, canary := range []string{canaryAccessKey, canaryEmail, in.Account} {
			if bytes.Contains(wire, []byte(canary)) || strings.Contains(p.String(), canary) {
				t.Errorf("payload %d holds %q in plain text", i, canary)
			}
		}
	}
}
