package sweep

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dpsweep/dpsweep/services/platform/telemetry"
)

// Sweep progress metrics, recorded by the worker. Labels are activity
// names, results and states; sweeps and accounts are in logs and traces.
var (
	activityDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dpsweep_sweep_activity_duration_seconds",
		Help:    "Time one attempt of a sweep activity took, by activity and result (ok or error).",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900},
	}, []string{"activity", "result"})
	scans = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dpsweep_sweep_scans_total",
		Help: "Scan attempts (one account in one region, or its global scope), by result: done, or error (Temporal may retry it).",
	}, []string{"result"})
	scanFindings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dpsweep_sweep_scan_findings_total",
		Help: "Findings completed scans recorded, by status.",
	}, []string{"status"})
	accounts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dpsweep_sweep_accounts_total",
		Help: "Accounts whose AccountSweep finished, by result: done, assume_role_failed (every control NOT_ASSESSED), or failed.",
	}, []string{"result"})
	accountsDiscovered = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dpsweep_sweep_accounts_discovered_total",
		Help: "Accounts DiscoverAccounts selected for sweeps.",
	})
	sweeps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dpsweep_sweep_sweeps_total",
		Help: "Sweeps whose SweepWorkflow finished, by state.",
	}, []string{"state"})
)

func init() {
	telemetry.MustRegister(activityDuration, scans, scanFindings, accounts, accountsDiscovered, sweeps)
}

// NewObserver is a worker interceptor that logs every activity attempt with
// its sweep, account and region (never its payloads), puts those IDs on the
// activity's span, and records the sweep progress metrics. Put it after the
// tracing interceptor so that the activity's span is in its context.
func NewObserver(log *slog.Logger) interceptor.WorkerInterceptor {
	return &observer{log: log}
}

type observer struct {
	interceptor.WorkerInterceptorBase
	log *slog.Logger
}

func (o *observer) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	a := &activityObserver{log: o.log}
	a.Next = next
	return a
}

func (o *observer) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	w := &workflowObserver{}
	w.Next = next
	return w
}

type activityObserver struct {
	interceptor.ActivityInboundInterceptorBase
	log *slog.Logger
}

// activityIDs reads the identifiers of an activity's input.
func activityIDs(args []any) telemetry.IDs {
	if len(args) == 0 {
		return telemetry.IDs{}
	}
	switch in := args[0].(type) {
	case DiscoverInput:
		return telemetry.IDs{SweepID: in.SweepID, AccountID: in.ManagementAccount}
	case DescribeInput:
		return telemetry.IDs{SweepID: in.SweepID, AccountID: in.Account}
	case ScanInput:
		return telemetry.IDs{SweepID: in.SweepID, AccountID: in.Account, Region: in.Region}
	case FinishInput:
		return telemetry.IDs{SweepID: in.SweepID}
	}
	return telemetry.IDs{}
}

func (a *activityObserver) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	ids := activityIDs(in.Args)
	ids.Annotate(ctx)
	start := time.Now()
	res, err := a.Next.ExecuteActivity(ctx, in)
	elapsed := time.Since(start)
	result := "ok"
	if err != nil {
		result = "error"
	}
	name := info.ActivityType.Name
	activityDuration.WithLabelValues(name, result).Observe(elapsed.Seconds())
	attrs := append([]slog.Attr{slog.String("activity", name), slog.Int("attempt", int(info.Attempt)), slog.String("result", result),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000)}, ids.Attrs()...)
	switch r := res.(type) {
	case *ScanResult:
		if err == nil && r != nil {
			scanFindings.WithLabelValues("pass").Add(float64(r.Counts.GetPass()))
			scanFindings.WithLabelValues("fail").Add(float64(r.Counts.GetFail()))
			scanFindings.WithLabelValues("not_assessed").Add(float64(r.Counts.GetNotAssessed()))
			attrs = append(attrs, slog.Int64("resources", r.Resources), slog.Int64("findings", r.Findings), slog.Int64("api_calls", r.APICalls))
		}
	case *DiscoverResult:
		if err == nil && r != nil {
			accountsDiscovered.Add(float64(len(r.Accounts)))
			attrs = append(attrs, slog.Int("accounts", len(r.Accounts)))
		}
	case *DescribeResult:
		if err == nil && r != nil {
			attrs = append(attrs, slog.Int("regions", len(r.Regions)), slog.Bool("assume_role_failed", r.AssumeRoleFailed))
		}
	}
	if name == ScanActivity {
		if err == nil {
			scans.WithLabelValues("done").Inc()
		} else {
			scans.WithLabelValues("error").Inc()
		}
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		// The error names the RPC and its status code, never a payload.
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	a.log.LogAttrs(ctx, level, "activity", attrs...)
	return res, err
}

type workflowObserver struct {
	interceptor.WorkflowInboundInterceptorBase
}

// ExecuteWorkflow counts finished accounts and sweeps. A workflow's code
// runs again whenever a worker replays its history (after a restart, for a
// query on a closed workflow); only the run that really finishes it counts.
func (w *workflowObserver) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	res, err := w.Next.ExecuteWorkflow(ctx, in)
	if workflow.IsReplaying(ctx) {
		return res, err
	}
	var can *workflow.ContinueAsNewError
	if errors.As(err, &can) {
		return res, err
	}
	switch workflow.GetInfo(ctx).WorkflowType.Name {
	case AccountSweepWorkflowName:
		r, _ := res.(*AccountResult)
		switch {
		case err != nil:
			accounts.WithLabelValues("failed").Inc()
		case r != nil && r.AssumeRoleFailed:
			accounts.WithLabelValues("assume_role_failed").Inc()
		default:
			accounts.WithLabelValues("done").Inc()
		}
	case SweepWorkflowName:
		state := "failed"
		switch r, _ := res.(*SweepResult); {
		case temporal.IsCanceledError(err):
			state = "cancelled"
		case err == nil && r != nil:
			state = enumLabel(r.State.String())
		}
		sweeps.WithLabelValues(state).Inc()
	}
	return res, err
}

// enumLabel turns SWEEP_STATE_COMPLETED into "completed".
func enumLabel(s string) string {
	const prefix = "SWEEP_STATE_"
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		s = s[len(prefix):]
	}
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
