package sweep

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dpsweep/dpsweep/workflows/codec"
)

// TestReplayRecordedHistories replays histories that real sweeps wrote
// (testdata/histories, recorded by tests/sweep_test.go with
// DPSWEEP_UPDATE_HISTORIES=1; files named *-v0.json are kept from before a
// workflow.GetVersion change, to replay its old branch) against the workflows
// as they are now: a change that would make running sweeps fail on their
// next workflow task (a nondeterminism error) fails here. Record new histories when a change
// is meant to be incompatible, and version the workflow (workflow.GetVersion)
// when sweeps may be running across the change.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	keys, err := codec.ParseKeys(ReplayTestKeyring)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := codec.NewDataConverter(keys)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("%d recorded histories; want the completed sweep, an account and the cancelled sweep", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc, FailureConverter: codec.NewFailureConverter(dc)})
			if err != nil {
				t.Fatal(err)
			}
			r.RegisterWorkflowWithOptions(SweepWorkflow, workflow.RegisterOptions{Name: SweepWorkflowName})
			r.RegisterWorkflowWithOptions(AccountSweep, workflow.RegisterOptions{Name: AccountSweepWorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), f); err != nil {
				t.Fatalf("replay of %s: %v", f, err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join("testdata", "histories", "sweep-cancelled.json")); err != nil {
		t.Fatal(err)
	}
}
