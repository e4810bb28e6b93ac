package sweep

import (
	"log/slog"
	"path/filepath"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	"github.com/dpsweep/dpsweep/services/platform/telemetry"
	"github.com/dpsweep/dpsweep/workflows/codec"
)

// counter is the value of one series of a dpsweep counter (0 when absent).
func counter(t *testing.T, name, label, value string) float64 {
	t.Helper()
	fams, err := telemetry.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabel(m, label, value) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

type progressSnapshot map[string]float64

func snapshot(t *testing.T) progressSnapshot {
	t.Helper()
	s := progressSnapshot{}
	for _, r := range []string{"done", "assume_role_failed", "failed"} {
		s["accounts/"+r] = counter(t, "dpsweep_sweep_accounts_total", "result", r)
	}
	for _, st := range []string{"completed", "cancelled", "failed"} {
		s["sweeps/"+st] = counter(t, "dpsweep_sweep_sweeps_total", "state", st)
	}
	return s
}

// TestObserverCountsFinishedWorkflowsOnly runs a sweep with the observer
// on the worker and finds its accounts and the sweep counted once each,
// then replays the recorded histories with the observer and finds nothing
// counted again: a replay (a worker restart, a query on a closed
// workflow) runs the workflow code to its end once more. Not parallel:
// the counters are the process's.
func TestObserverCountsFinishedWorkflowsOnly(t *testing.T) {
	observer := []interceptor.WorkerInterceptor{NewObserver(slog.New(slog.DiscardHandler))}
	before := snapshot(t)
	o := newFakeOrg(4)
	o.noRole[o.accounts[1]] = true
	o.failScan[o.accounts[2]+"/us-east-1"] = true
	env := o.env(t)
	env.SetWorkerOptions(worker.Options{Interceptors: observer})
	env.ExecuteWorkflow(SweepWorkflowName, SweepInput{SweepID: "s1", ManagementAccount: "999999999999",
		Spec: &sweepv1.SweepSpec{ExcludeAccountIds: []string{o.accounts[3]}}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t)
	want := map[string]float64{"accounts/done": 2, "accounts/assume_role_failed": 1, "accounts/failed": 0, "sweeps/completed": 1, "sweeps/cancelled": 0, "sweeps/failed": 0}
	for k, n := range want {
		if got := after[k] - before[k]; got != n {
			t.Errorf("%s grew by %v, want %v", k, got, n)
		}
	}

	keys, err := codec.ParseKeys(ReplayTestKeyring)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := codec.NewDataConverter(keys)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("histories: %v, %v", files, err)
	}
	before = snapshot(t)
	for _, f := range files {
		r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc, FailureConverter: codec.NewFailureConverter(dc),
			Interceptors: observer})
		if err != nil {
			t.Fatal(err)
		}
		r.RegisterWorkflowWithOptions(SweepWorkflow, workflow.RegisterOptions{Name: SweepWorkflowName})
		r.RegisterWorkflowWithOptions(AccountSweep, workflow.RegisterOptions{Name: AccountSweepWorkflowName})
		if err := r.ReplayWorkflowHistoryFromJSONFile(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), f); err != nil {
			t.Fatalf("replay of %s: %v", f, err)
		}
	}
	after = snapshot(t)
	for k := range after {
		if after[k] != before[k] {
			t.Errorf("replaying the recorded histories changed %s by %v", k, after[k]-before[k])
		}
	}
}
