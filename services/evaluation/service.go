// Package evaluation is dpsweep's EvaluationService: it evaluates inventories
// into findings with the control catalogue (package catalog), the engine
// (package engine) and users' custom CEL controls (package custom). Free-form
// text goes to the RedactionService; only redacted evidence leaves.
package evaluation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	"github.com/dpsweep/dpsweep/services/evaluation/catalog"
	"github.com/dpsweep/dpsweep/services/evaluation/custom"
	"github.com/dpsweep/dpsweep/services/evaluation/engine"
	"github.com/dpsweep/dpsweep/services/platform/server"
)

// DefaultAddr is where the service listens unless configured otherwise.
const DefaultAddr = "127.0.0.1:7402"

// findingsPerMessage is how many findings one response carries.
const findingsPerMessage = 500

// Service implements evaluationv1.EvaluationServiceServer.
type Service struct {
	evaluationv1.UnimplementedEvaluationServiceServer
	log          *slog.Logger
	engine       *engine.Engine
	maxResources int
}

var _ evaluationv1.EvaluationServiceServer = (*Service)(nil)

// New builds the service: the built-in catalogue plus the custom controls,
// the server's suppressions, and a client of the RedactionService. The
// returned cleanup closes the client.
func New(cfg Config, log *slog.Logger) (*Service, func(), error) {
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	controls := catalog.Builtin()
	if len(cfg.Controls) > 0 {
		extra, err := custom.Load(cfg.Controls...)
		if err != nil {
			return nil, nil, fmt.Errorf("--controls: %w", err)
		}
		controls = append(controls, extra...)
	}
	var sups []*evaluationv1.Suppression
	if cfg.SuppressionsFile != "" {
		var err error
		if sups, err = LoadSuppressions(cfg.SuppressionsFile); err != nil {
			return nil, nil, fmt.Errorf("--suppressions-file: %w", err)
		}
	}
	red, cleanup := cfg.Redactor, func() {}
	if red == nil {
		conn, err := cfg.Redaction.Dial()
		if err != nil {
			return nil, nil, fmt.Errorf("--redaction-addr: %w", err)
		}
		red, cleanup = engine.GRPCRedactor{Client: redactionv1.NewRedactionServiceClient(conn)}, func() { _ = conn.Close() }
	}
	e, err := engine.New(engine.Options{Controls: controls, Redactor: red, Suppressions: sups, BatchTexts: cfg.BatchTexts, BatchBytes: cfg.BatchBytes})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	log.Info("control catalogue loaded", "controls", len(controls), "custom", len(controls)-len(catalog.Builtin()), "suppressions", len(sups))
	return &Service{log: log, engine: e, maxResources: cfg.MaxResources}, cleanup, nil
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
	evaluationv1.RegisterEvaluationServiceServer(s, svc)
	return cleanup, nil
}

// Evaluate reads the context and the inventory, evaluates, and streams the findings.
func (s *Service) Evaluate(stream grpc.BidiStreamingServer[evaluationv1.EvaluateRequest, evaluationv1.EvaluateResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return server.FieldError("context", "the first message must carry the evaluation context")
		}
		return err
	}
	ec := first.GetContext()
	if ec == nil {
		return server.FieldError("context", "the first message must carry the evaluation context")
	}
	in := &engine.Input{SweepID: ec.GetSweepId(), Account: ec.GetAccountId(), Region: ec.GetRegion(), ControlIDs: ec.GetControlIds(),
		Suppressions: ec.GetSuppressions(), FIPS: ec.GetFipsRequired()}
	if ids := ec.GetOrganizationAccountIds(); len(ids) > 0 {
		if err := checkAccountIDs("context.organization_account_ids", ids); err != nil {
			return err
		}
		in.OrgAccounts = ids
	}
	switch {
	case in.SweepID == "":
		return server.FieldError("context.sweep_id", "required")
	case in.Account == "":
		return server.FieldError("context.account_id", "required")
	case in.Region == "":
		return server.FieldError("context.region", `required: a region name or "global"`)
	}
	for i, sup := range in.Suppressions {
		if sup.GetControlId() == "" {
			return server.FieldError(fmt.Sprintf("context.suppressions[%d].control_id", i), `required ("*" for every control)`)
		}
	}
	for n := 1; ; n++ {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		inv := req.GetInventory()
		if inv == nil {
			return server.FieldError("context", "only the first message carries the context; later messages carry inventory")
		}
		in.Resources = append(in.Resources, inv.GetResources()...)
		in.Errors = append(in.Errors, inv.GetErrors()...)
		if len(in.Resources) > s.maxResources {
			return status.Errorf(codes.ResourceExhausted, "inventory: more than %d resources (--max-resources)", s.maxResources)
		}
	}
	start := time.Now()
	res, err := s.engine.Evaluate(stream.Context(), in)
	if err != nil {
		var ie *engine.InputError
		if errors.As(err, &ie) {
			return server.FieldError(ie.Field, ie.Problem)
		}
		if st, ok := status.FromError(errors.Unwrap(err)); ok && st.Code() != codes.Unknown {
			return status.Errorf(st.Code(), "evaluate: %v", err)
		}
		if ctxErr := stream.Context().Err(); ctxErr != nil {
			return status.FromContextError(ctxErr).Err()
		}
		return status.Errorf(codes.Unavailable, "evaluate: %v", err)
	}
	sum := res.Summary
	s.log.Info("inventory evaluated", "sweep_id", in.SweepID, "account_id", in.Account, "region", in.Region, "resources", len(in.Resources),
		"collection_errors", len(in.Errors), "findings", sum.GetFindings(), "fail", sum.GetFail(), "not_assessed", sum.GetNotAssessed(),
		"suppressed", sum.GetSuppressed(), "duration", time.Since(start).Round(time.Millisecond))
	fs := res.Findings
	for len(fs) > findingsPerMessage {
		if err := stream.Send(&evaluationv1.EvaluateResponse{Findings: fs[:findingsPerMessage]}); err != nil {
			return err
		}
		fs = fs[findingsPerMessage:]
	}
	return stream.Send(&evaluationv1.EvaluateResponse{Findings: fs, Summary: sum})
}

// ListControls lists the catalogue, by ID, filtered and paged.
func (s *Service) ListControls(_ context.Context, req *evaluationv1.ListControlsRequest) (*evaluationv1.ListControlsResponse, error) {
	var sel []*catalog.Control
	for _, c := range s.engine.Controls() {
		switch {
		case req.GetMinSeverity() != evaluationv1.Severity_SEVERITY_UNSPECIFIED && c.Severity < req.GetMinSeverity():
		case req.GetSource() != evaluationv1.ControlSource_CONTROL_SOURCE_UNSPECIFIED && c.Source != req.GetSource():
		case req.GetResourceType() != "" && !c.AppliesTo(req.GetResourceType()):
		default:
			sel = append(sel, c)
		}
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = 100
	}
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		i, found := slices.BinarySearchFunc(sel, tok, func(c *catalog.Control, id string) int { return strings.Compare(c.ID, id) })
		if !found {
			if _, known := s.engine.Control(tok); !known {
				return nil, server.FieldError("page_token", "not a token this service gave")
			}
		} else {
			i++
		}
		start = i
	}
	end := min(len(sel), start+size)
	resp := &evaluationv1.ListControlsResponse{}
	for _, c := range sel[start:end] {
		resp.Controls = append(resp.Controls, c.Proto())
	}
	if end < len(sel) {
		resp.NextPageToken = sel[end-1].ID
	}
	return resp, nil
}

// GetControl returns one control.
func (s *Service) GetControl(_ context.Context, req *evaluationv1.GetControlRequest) (*evaluationv1.GetControlResponse, error) {
	c, ok := s.engine.Control(req.GetControlId())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "control %q not found; ListControls lists them", req.GetControlId())
	}
	return &evaluationv1.GetControlResponse{Control: c.Proto()}, nil
}

// ValidateCustomControls checks a custom controls file without loading it.
func (s *Service) ValidateCustomControls(_ context.Context, req *evaluationv1.ValidateCustomControlsRequest) (*evaluationv1.ValidateCustomControlsResponse, error) {
	controls, err := custom.Parse(req.GetFileName(), []byte(req.GetContent()))
	if err != nil {
		return nil, server.FieldError("content", err.Error())
	}
	resp := &evaluationv1.ValidateCustomControlsResponse{}
	for _, c := range controls {
		resp.Controls = append(resp.Controls, c.Proto())
	}
	return resp, nil
}

// checkAccountIDs checks a list of account IDs as the API documents it (12
// digits each, no repeats) in one pass: the organization's list comes with
// every scan of a sweep, where protovalidate's per-item rules would evaluate
// a CEL program for each of the organization's accounts.
func checkAccountIDs(field string, ids []string) error {
	seen := make(map[string]struct{}, len(ids))
	for i, id := range ids {
		if len(id) != 12 || strings.IndexFunc(id, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return server.FieldError(fmt.Sprintf("%s[%d]", field, i), "must be a 12-digit account ID")
		}
		if _, dup := seen[id]; dup {
			return server.FieldError(fmt.Sprintf("%s[%d]", field, i), "repeats an earlier account ID")
		}
		seen[id] = struct{}{}
	}
	return nil
}
