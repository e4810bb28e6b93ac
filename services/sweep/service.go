// Package sweep is dpsweep's SweepService: the control plane that starts,
// inspects, cancels, lists and schedules sweeps for clients on any
// platform. It is a thin layer over a Temporal client: a sweep is a
// SweepWorkflow with workflow ID "sweep/<sweep_id>" (package
// workflows/sweep), a schedule a Temporal Schedule.
package sweep

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/workflows/codec"
	wf "github.com/dpsweep/dpsweep/workflows/sweep"
	"github.com/dpsweep/dpsweep/workflows/temporalconn"
	"github.com/dpsweep/dpsweep/workflows/tracing"
)

// DefaultAddr is where the service listens unless configured otherwise.
const DefaultAddr = "127.0.0.1:7405"

// DefaultTemporalAddr is the Temporal frontend dialled unless configured otherwise.
const DefaultTemporalAddr = "127.0.0.1:7233"

// scheduledID matches the sweep ID of a scheduled run, "<schedule>-2026-11-24T03-00-00Z".
var scheduledID = regexp.MustCompile(`^(.+-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2})-([0-9]{2})-([0-9]{2}Z)$`)

// memoSpec is the memo key holding a sweep's spec, so GetSweep can show it;
// memoCron a schedule's cron expressions as given (Temporal keeps them as
// calendars).
const (
	memoSpec = "spec"
	memoCron = "cron_expressions"
)

// Config is the service's own configuration (flags and DPSWEEP_SWEEP_* variables).
type Config struct {
	// TemporalAddr and Namespace locate the Temporal server.
	TemporalAddr, Namespace string
	// TemporalSecurity is TLS, mutual TLS or an API key for the Temporal
	// connection (--temporal-tls*, --temporal-api-key-file).
	TemporalSecurity temporalconn.Security
	// ManagementAccount is the organization's management account, where
	// sweeps discover accounts.
	ManagementAccount string
	// KeyFile holds the payload encryption keys (package workflows/codec);
	// empty means DPSWEEP_TEMPORAL_KEY, and without either payloads are plain.
	KeyFile string
	// Converters, when set, are used instead of loading KeyFile.
	Converters *codec.Converters
	// Client, when set, is used instead of dialling TemporalAddr; the service
	// does not close it.
	Client client.Client
}

// DefaultConfig is the configuration with every default.
func DefaultConfig() Config {
	return Config{TemporalAddr: DefaultTemporalAddr, Namespace: "default"}
}

// RegisterFlags defines the service's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.TemporalAddr, "temporal-address", c.TemporalAddr, "Temporal frontend host:port")
	c.TemporalSecurity.RegisterFlags(fs)
	fs.StringVar(&c.Namespace, "temporal-namespace", c.Namespace, "Temporal namespace of the sweeps")
	fs.StringVar(&c.KeyFile, "temporal-key-file", c.KeyFile, "file of AES-256 keys that encrypt workflow payloads (id:base64 per line, mode 0600); default $DPSWEEP_TEMPORAL_KEY")
	fs.StringVar(&c.ManagementAccount, "management-account", c.ManagementAccount, "the organization's management account ID, where sweeps discover accounts")
}

// Service implements sweepv1.SweepServiceServer.
type Service struct {
	sweepv1.UnimplementedSweepServiceServer
	log    *slog.Logger
	cfg    Config
	client client.Client
	now    func() time.Time
}

var _ sweepv1.SweepServiceServer = (*Service)(nil)

// New connects to Temporal (lazily: the server may start later) and
// returns the service; cleanup closes the client it made.
func New(cfg Config, log *slog.Logger) (*Service, func(), error) {
	if cfg.ManagementAccount != "" && !isAccount(cfg.ManagementAccount) {
		return nil, nil, fmt.Errorf("--management-account: %q is not a 12-digit AWS account ID", cfg.ManagementAccount)
	}
	conv := cfg.Converters
	if conv == nil {
		var err error
		if conv, err = codec.Load(cfg.KeyFile); err != nil {
			return nil, nil, fmt.Errorf("--temporal-key-file: %w", err)
		}
	}
	c, cleanup := cfg.Client, func() {}
	if c == nil {
		if cfg.TemporalAddr == "" {
			return nil, nil, errors.New("--temporal-address is required")
		}
		if conv == nil {
			log.Warn("no --temporal-key-file or DPSWEEP_TEMPORAL_KEY: sweep specs are stored in the Temporal server unencrypted")
		}
		dc, fc := conv.Options()
		// Sweeps start inside the StartSweep call's trace.
		trace, err := tracing.Interceptor()
		if err != nil {
			return nil, nil, err
		}
		opts := client.Options{HostPort: cfg.TemporalAddr, Namespace: cfg.Namespace, DataConverter: dc, FailureConverter: fc,
			Logger: tlog.NewStructuredLogger(log), Interceptors: []interceptor.ClientInterceptor{trace}}
		if err := cfg.TemporalSecurity.Apply(&opts); err != nil {
			return nil, nil, err
		}
		c, err = client.NewLazyClient(opts)
		if err != nil {
			return nil, nil, fmt.Errorf("--temporal-address %s: %w", cfg.TemporalAddr, err)
		}
		cleanup = c.Close
	}
	cfg.Converters = conv
	return &Service{log: log, cfg: cfg, client: c, now: time.Now}, cleanup, nil
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Register installs the service with its default configuration.
func Register(ctx context.Context, s *grpc.Server, log *slog.Logger) (func(), error) {
	c := DefaultConfig()
	return c.Register(ctx, s, log)
}

// Register installs the service configured by c (read when called, after flags).
func (c *Config) Register(_ context.Context, s *grpc.Server, log *slog.Logger) (func(), error) {
	svc, cleanup, err := New(*c, log)
	if err != nil {
		return nil, err
	}
	sweepv1.RegisterSweepServiceServer(s, svc)
	return cleanup, nil
}

// newSweepID is a readable, sortable, unique sweep ID: "20261124-0330-3f9a1c".
func (s *Service) newSweepID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return s.now().UTC().Format("20060102-1504") + "-" + hex.EncodeToString(b[:])
}

func (s *Service) input(id string, spec *sweepv1.SweepSpec) wf.SweepInput {
	return wf.SweepInput{SweepID: id, Spec: spec, ManagementAccount: s.cfg.ManagementAccount}
}

func (s *Service) workflowOptions(id string, spec *sweepv1.SweepSpec) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: wf.SweepWorkflowID(id), TaskQueue: wf.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionTimeout: 72 * time.Hour,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(wf.SearchAttrSweepID).ValueSet(id),
			temporal.NewSearchAttributeKeyKeyword(wf.SearchAttrStatus).ValueSet(sweepv1.SweepState_SWEEP_STATE_RUNNING.String())),
		Memo: map[string]any{memoSpec: spec},
	}
}

// StartSweep starts a SweepWorkflow.
func (s *Service) StartSweep(ctx context.Context, req *sweepv1.StartSweepRequest) (*sweepv1.StartSweepResponse, error) {
	if s.cfg.ManagementAccount == "" {
		return nil, status.Error(codes.FailedPrecondition, "the sweep service has no --management-account: set it to the organization's management account ID")
	}
	id := req.GetSweepId()
	if id == "" {
		id = s.newSweepID()
	}
	run, err := s.client.ExecuteWorkflow(ctx, s.workflowOptions(id, req.GetSpec()), wf.SweepWorkflowName, s.input(id, req.GetSpec()))
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return nil, status.Errorf(codes.AlreadyExists, "sweep %q already exists; choose another sweep_id or leave it empty", id)
		}
		return nil, temporalStatus("start sweep", err)
	}
	s.log.InfoContext(ctx, "sweep started", "sweep_id", id, "workflow_id", run.GetID(), "run_id", run.GetRunID())
	return &sweepv1.StartSweepResponse{Sweep: &sweepv1.Sweep{SweepId: id, State: sweepv1.SweepState_SWEEP_STATE_RUNNING, Spec: req.GetSpec(),
		WorkflowId: run.GetID(), StartTime: timestamppb.New(s.now()), Progress: &sweepv1.SweepProgress{}}}, nil
}

// GetSweep describes a sweep: its state, spec and progress (from the
// workflow's progress query while it runs, from its result once it ended).
func (s *Service) GetSweep(ctx context.Context, req *sweepv1.GetSweepRequest) (*sweepv1.GetSweepResponse, error) {
	info, err := s.find(ctx, req.GetSweepId())
	if err != nil {
		return nil, err
	}
	sw, err := s.sweep(ctx, info, true)
	if err != nil {
		return nil, err
	}
	return &sweepv1.GetSweepResponse{Sweep: sw}, nil
}

// find returns the latest run of a sweep's workflow: "sweep/<id>", or a
// scheduled run whose sweep ID search attribute is id.
func (s *Service) find(ctx context.Context, id string) (*workflowpb.WorkflowExecutionInfo, error) {
	candidates := []string{wf.SweepWorkflowID(id)}
	if m := scheduledID.FindStringSubmatch(id); m != nil {
		// A scheduled run's workflow ID has the colons its sweep ID lost.
		candidates = append(candidates, wf.SweepWorkflowID(m[1]+":"+m[2]+":"+m[3]))
	}
	for _, wid := range candidates {
		d, err := s.client.DescribeWorkflowExecution(ctx, wid, "")
		if err == nil {
			return d.GetWorkflowExecutionInfo(), nil
		}
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			return nil, temporalStatus("get sweep", err)
		}
	}
	list, err := s.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 1,
		Query: fmt.Sprintf("WorkflowType = '%s' AND %s = '%s'", wf.SweepWorkflowName, wf.SearchAttrSweepID, id)})
	if err != nil {
		return nil, temporalStatus("get sweep", err)
	}
	if len(list.GetExecutions()) == 0 {
		return nil, status.Errorf(codes.NotFound, "no sweep %q", id)
	}
	return list.GetExecutions()[0], nil
}

// sweep builds the API's view of a sweep workflow. detail asks for the
// progress query or result (one more call to Temporal).
func (s *Service) sweep(ctx context.Context, info *workflowpb.WorkflowExecutionInfo, detail bool) (*sweepv1.Sweep, error) {
	wid := info.GetExecution().GetWorkflowId()
	sw := &sweepv1.Sweep{SweepId: wf.SweepIDFromWorkflowID(wid), WorkflowId: wid, State: stateOf(info.GetStatus()),
		StartTime: info.GetStartTime(), CloseTime: info.GetCloseTime(), Progress: &sweepv1.SweepProgress{}}
	if p := info.GetSearchAttributes().GetIndexedFields()[wf.SearchAttrSweepID]; p != nil {
		var id string
		if converter.GetDefaultDataConverter().FromPayload(p, &id) == nil && id != "" {
			sw.SweepId = id
		}
	}
	if p := info.GetSearchAttributes().GetIndexedFields()["TemporalScheduledById"]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &sw.ScheduleId)
	}
	if p := info.GetMemo().GetFields()[memoSpec]; p != nil {
		spec := &sweepv1.SweepSpec{}
		if err := s.dataConverter().FromPayload(p, &spec); err == nil {
			sw.Spec = spec
		}
	}
	if !detail {
		return sw, nil
	}
	if sw.State == sweepv1.SweepState_SWEEP_STATE_RUNNING {
		v, err := s.client.QueryWorkflow(ctx, wid, "", wf.ProgressQuery)
		if err == nil {
			p := &sweepv1.SweepProgress{}
			if v.Get(&p) == nil {
				sw.Progress = p
			}
		} else {
			s.log.DebugContext(ctx, "progress query failed", "sweep_id", sw.SweepId, "error", err)
		}
		return sw, nil
	}
	var res wf.SweepResult
	err := s.client.GetWorkflow(ctx, wid, info.GetExecution().GetRunId()).Get(ctx, &res)
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) && canceled.HasDetails() {
		_ = canceled.Details(&res)
	}
	if res.Progress != nil {
		sw.Progress = res.Progress
	}
	sw.ReportUris = res.ReportURIs
	return sw, nil
}

func (s *Service) dataConverter() converter.DataConverter {
	if s.cfg.Converters != nil {
		return s.cfg.Converters.Data
	}
	return converter.GetDefaultDataConverter()
}

func stateOf(st enumspb.WorkflowExecutionStatus) sweepv1.SweepState {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return sweepv1.SweepState_SWEEP_STATE_RUNNING
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return sweepv1.SweepState_SWEEP_STATE_COMPLETED
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return sweepv1.SweepState_SWEEP_STATE_CANCELLED
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return sweepv1.SweepState_SWEEP_STATE_FAILED
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return sweepv1.SweepState_SWEEP_STATE_TERMINATED
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return sweepv1.SweepState_SWEEP_STATE_TIMED_OUT
	}
	return sweepv1.SweepState_SWEEP_STATE_UNSPECIFIED
}

// CancelSweep asks a running sweep to stop; it finalizes a partial report.
func (s *Service) CancelSweep(ctx context.Context, req *sweepv1.CancelSweepRequest) (*sweepv1.CancelSweepResponse, error) {
	info, err := s.find(ctx, req.GetSweepId())
	if err != nil {
		return nil, err
	}
	if stateOf(info.GetStatus()) != sweepv1.SweepState_SWEEP_STATE_RUNNING {
		return nil, status.Errorf(codes.FailedPrecondition, "sweep %q is not running (%s)", req.GetSweepId(), stateOf(info.GetStatus()))
	}
	if err := s.client.CancelWorkflow(ctx, info.GetExecution().GetWorkflowId(), ""); err != nil {
		return nil, temporalStatus("cancel sweep", err)
	}
	s.log.InfoContext(ctx, "sweep cancel requested", "sweep_id", req.GetSweepId(), "reason_given", req.GetReason() != "")
	sw, err := s.sweep(ctx, info, false)
	if err != nil {
		return nil, err
	}
	return &sweepv1.CancelSweepResponse{Sweep: sw}, nil
}

// ListSweeps lists sweeps, newest first.
func (s *Service) ListSweeps(ctx context.Context, req *sweepv1.ListSweepsRequest) (*sweepv1.ListSweepsResponse, error) {
	q := fmt.Sprintf("WorkflowType = '%s'", wf.SweepWorkflowName)
	if st := req.GetState(); st != sweepv1.SweepState_SWEEP_STATE_UNSPECIFIED {
		q += fmt.Sprintf(" AND ExecutionStatus = '%s'", temporalStatusName(st))
	}
	if id := req.GetScheduleId(); id != "" {
		q += fmt.Sprintf(" AND TemporalScheduledById = '%s'", id)
	}
	size := req.GetPageSize()
	if size == 0 {
		size = 50
	}
	var token []byte
	if t := req.GetPageToken(); t != "" {
		var err error
		if token, err = hex.DecodeString(t); err != nil {
			return nil, server.FieldError("page_token", "not a token this service gave; pass next_page_token unchanged")
		}
	}
	resp, err := s.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: size, NextPageToken: token, Query: q})
	if err != nil {
		if status.Code(err) == codes.InvalidArgument && len(token) > 0 {
			return nil, server.FieldError("page_token", "not a token this service gave; pass next_page_token unchanged")
		}
		return nil, temporalStatus("list sweeps", err)
	}
	out := &sweepv1.ListSweepsResponse{NextPageToken: hex.EncodeToString(resp.GetNextPageToken())}
	for _, e := range resp.GetExecutions() {
		sw, err := s.sweep(ctx, e, false)
		if err != nil {
			return nil, err
		}
		out.Sweeps = append(out.Sweeps, sw)
	}
	return out, nil
}

func temporalStatusName(st sweepv1.SweepState) string {
	switch st {
	case sweepv1.SweepState_SWEEP_STATE_RUNNING:
		return "Running"
	case sweepv1.SweepState_SWEEP_STATE_COMPLETED:
		return "Completed"
	case sweepv1.SweepState_SWEEP_STATE_CANCELLED:
		return "Canceled"
	case sweepv1.SweepState_SWEEP_STATE_FAILED:
		return "Failed"
	case sweepv1.SweepState_SWEEP_STATE_TERMINATED:
		return "Terminated"
	case sweepv1.SweepState_SWEEP_STATE_TIMED_OUT:
		return "TimedOut"
	}
	return ""
}

// CreateSchedule creates a Temporal Schedule that starts a sweep on a calendar.
func (s *Service) CreateSchedule(ctx context.Context, req *sweepv1.CreateScheduleRequest) (*sweepv1.CreateScheduleResponse, error) {
	if s.cfg.ManagementAccount == "" {
		return nil, status.Error(codes.FailedPrecondition, "the sweep service has no --management-account: set it to the organization's management account ID")
	}
	for i, c := range req.GetCronExpressions() {
		if len(strings.Fields(c)) != 5 {
			return nil, server.FieldError(fmt.Sprintf("cron_expressions[%d]", i), `want five fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * *"`)
		}
	}
	spec := client.ScheduleSpec{CronExpressions: req.GetCronExpressions()}
	if iv := req.GetInterval(); iv != nil {
		spec.Intervals = []client.ScheduleIntervalSpec{{Every: iv.AsDuration()}}
	}
	opts := s.workflowOptions("", req.GetSpec())
	action := &client.ScheduleWorkflowAction{
		ID: wf.SweepWorkflowID(req.GetScheduleId()), Workflow: wf.SweepWorkflowName, TaskQueue: wf.TaskQueue,
		Args: []any{s.input("", req.GetSpec())}, WorkflowExecutionTimeout: opts.WorkflowExecutionTimeout, Memo: opts.Memo,
		TypedSearchAttributes: temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword(wf.SearchAttrStatus).ValueSet(sweepv1.SweepState_SWEEP_STATE_RUNNING.String())),
	}
	_, err := s.client.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: req.GetScheduleId(), Spec: spec, Action: action, Paused: req.GetPaused(),
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, Memo: map[string]any{memoSpec: req.GetSpec(), memoCron: req.GetCronExpressions()}})
	if err != nil {
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			return nil, status.Errorf(codes.AlreadyExists, "schedule %q already exists", req.GetScheduleId())
		}
		return nil, temporalStatus("create schedule", err)
	}
	s.log.InfoContext(ctx, "schedule created", "schedule_id", req.GetScheduleId())
	sc, err := s.schedule(ctx, req.GetScheduleId())
	if err != nil {
		return nil, err
	}
	return &sweepv1.CreateScheduleResponse{Schedule: sc}, nil
}

func (s *Service) schedule(ctx context.Context, id string) (*sweepv1.Schedule, error) {
	d, err := s.client.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		return nil, temporalStatus("get schedule", err)
	}
	sc := &sweepv1.Schedule{ScheduleId: id, Paused: d.Schedule.State.Paused, Note: d.Schedule.State.Note}
	if sp := d.Schedule.Spec; sp != nil {
		for _, iv := range sp.Intervals {
			sc.Interval = durationpb.New(iv.Every)
		}
	}
	if p := d.Memo.GetFields()[memoSpec]; p != nil {
		spec := &sweepv1.SweepSpec{}
		if err := s.dataConverter().FromPayload(p, &spec); err == nil {
			sc.Spec = spec
		}
	}
	if p := d.Memo.GetFields()[memoCron]; p != nil {
		_ = s.dataConverter().FromPayload(p, &sc.CronExpressions)
	}
	for _, t := range d.Info.NextActionTimes {
		sc.NextRuns = append(sc.NextRuns, timestamppb.New(t))
	}
	for _, a := range d.Info.RecentActions {
		if a.StartWorkflowResult != nil {
			sc.RecentSweepIds = append(sc.RecentSweepIds, wf.SweepIDFromWorkflowID(a.StartWorkflowResult.WorkflowID))
		}
	}
	return sc, nil
}

// GetSchedule describes a schedule.
func (s *Service) GetSchedule(ctx context.Context, req *sweepv1.GetScheduleRequest) (*sweepv1.GetScheduleResponse, error) {
	sc, err := s.schedule(ctx, req.GetScheduleId())
	if err != nil {
		return nil, err
	}
	return &sweepv1.GetScheduleResponse{Schedule: sc}, nil
}

// ListSchedules lists schedules.
func (s *Service) ListSchedules(ctx context.Context, req *sweepv1.ListSchedulesRequest) (*sweepv1.ListSchedulesResponse, error) {
	it, err := s.client.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: int(req.GetPageSize())})
	if err != nil {
		return nil, temporalStatus("list schedules", err)
	}
	out := &sweepv1.ListSchedulesResponse{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, temporalStatus("list schedules", err)
		}
		sc, err := s.schedule(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		out.Schedules = append(out.Schedules, sc)
		if req.GetPageSize() > 0 && len(out.Schedules) >= int(req.GetPageSize()) {
			break
		}
	}
	return out, nil
}

// PauseSchedule pauses or resumes a schedule.
func (s *Service) PauseSchedule(ctx context.Context, req *sweepv1.PauseScheduleRequest) (*sweepv1.PauseScheduleResponse, error) {
	h := s.client.ScheduleClient().GetHandle(ctx, req.GetScheduleId())
	var err error
	if req.GetPaused() {
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: req.GetNote()})
	} else {
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: req.GetNote()})
	}
	if err != nil {
		return nil, temporalStatus("pause schedule", err)
	}
	sc, err := s.schedule(ctx, req.GetScheduleId())
	if err != nil {
		return nil, err
	}
	return &sweepv1.PauseScheduleResponse{Schedule: sc}, nil
}

// TriggerSchedule starts a schedule's sweep now.
func (s *Service) TriggerSchedule(ctx context.Context, req *sweepv1.TriggerScheduleRequest) (*sweepv1.TriggerScheduleResponse, error) {
	if err := s.client.ScheduleClient().GetHandle(ctx, req.GetScheduleId()).Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}); err != nil {
		return nil, temporalStatus("trigger schedule", err)
	}
	return &sweepv1.TriggerScheduleResponse{}, nil
}

// DeleteSchedule deletes a schedule; the sweeps it started stay.
func (s *Service) DeleteSchedule(ctx context.Context, req *sweepv1.DeleteScheduleRequest) (*sweepv1.DeleteScheduleResponse, error) {
	if err := s.client.ScheduleClient().GetHandle(ctx, req.GetScheduleId()).Delete(ctx); err != nil {
		return nil, temporalStatus("delete schedule", err)
	}
	return &sweepv1.DeleteScheduleResponse{}, nil
}

// temporalStatus maps a Temporal client error to a gRPC status.
func temporalStatus(op string, err error) error {
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return status.Errorf(codes.NotFound, "%s: %s", op, nf.Message)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return status.Errorf(st.Code(), "%s: %s", op, st.Message())
	}
	return status.Errorf(codes.Unavailable, "%s: Temporal: %v", op, err)
}
