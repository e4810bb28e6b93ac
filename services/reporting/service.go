// Package reporting is dpsweep's ReportingService: it stores findings per
// sweep (package store: SQLite or PostgreSQL), diffs sweeps, and exports
// reports (package export: JSON lines, CSV, SARIF, OCSF, ASFF for Security
// Hub, and the HTML report of package export/html) to a local file, S3 with
// SSE-KMS, or Security Hub. It stores and exports findings as the
// EvaluationService made them: evidence is redacted text only.
package reporting

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/reporting/export"
	_ "github.com/dpsweep/dpsweep/services/reporting/export/html" // registers REPORT_FORMAT_HTML
	"github.com/dpsweep/dpsweep/services/reporting/store"
)

// DefaultAddr is where the service listens unless configured otherwise.
const DefaultAddr = "127.0.0.1:7404"

// Service implements reportingv1.ReportingServiceServer.
type Service struct {
	reportingv1.UnimplementedReportingServiceServer
	log     *slog.Logger
	cfg     Config
	store   store.Store
	aws     aws.Config
	now     func() time.Time
	version string

	mu        sync.Mutex
	s3Clients map[string]*s3.Client
	accounts  map[string]string // region -> caller account, for the default product ARN
	roles     map[string]aws.CredentialsProvider
}

var _ reportingv1.ReportingServiceServer = (*Service)(nil)

// New opens the store (applying its migrations) and builds the service. The
// returned cleanup closes the store it opened.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, func(), error) {
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	dir, err := cfg.resolveReportDir()
	if err != nil {
		return nil, nil, err
	}
	cfg.ReportDir = dir
	base, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
	if err != nil {
		return nil, nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Credentials != nil {
		base.Credentials = cfg.Credentials
	}
	st, cleanup := cfg.Store, func() {}
	if st == nil {
		url := cfg.Database
		if url == "" {
			if url, err = store.DefaultSQLitePath(); err != nil {
				return nil, nil, fmt.Errorf("--database: %w", err)
			}
		}
		if st, err = store.Open(ctx, url); err != nil {
			return nil, nil, fmt.Errorf("--database: %w", err)
		}
		cleanup = func() { _ = st.Close() }
	}
	log.Info("findings store open", "engine", engineName(st), "report_dir", cfg.ReportDir)
	return &Service{log: log, cfg: cfg, store: st, aws: base, now: time.Now, version: version(),
		s3Clients: map[string]*s3.Client{}, accounts: map[string]string{}, roles: map[string]aws.CredentialsProvider{}}, cleanup, nil
}

func engineName(st store.Store) string {
	switch st.(type) {
	case *store.SQLite:
		return "sqlite"
	case *store.Postgres:
		return "postgres"
	}
	return fmt.Sprintf("%T", st)
}

// Register installs the service with its default configuration.
func Register(ctx context.Context, s *grpc.Server, log *slog.Logger) (func(), error) {
	c := DefaultConfig()
	return c.Register(ctx, s, log)
}

// Register installs the service configured by c (read when called, after flags).
func (c *Config) Register(ctx context.Context, s *grpc.Server, log *slog.Logger) (func(), error) {
	svc, cleanup, err := New(ctx, *c, log)
	if err != nil {
		return nil, err
	}
	reportingv1.RegisterReportingServiceServer(s, svc)
	return cleanup, nil
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// RecordFindings checks every finding, then stores the batch in one
// transaction: a bad finding stores nothing.
func (s *Service) RecordFindings(ctx context.Context, req *reportingv1.RecordFindingsRequest) (*reportingv1.RecordFindingsResponse, error) {
	id := req.GetSweepId()
	for i, f := range req.GetFindings() {
		field := func(name string) string { return fmt.Sprintf("findings[%d].%s", i, name) }
		switch {
		case f.GetSweepId() != "" && f.GetSweepId() != id:
			return nil, server.FieldError(field("sweep_id"), "must be empty or equal to sweep_id")
		case !accountID.MatchString(f.GetAccountId()):
			return nil, server.FieldError(field("account_id"), "required: a 12-digit AWS account ID")
		case f.GetRegion() == "":
			return nil, server.FieldError(field("region"), `required: a region name or "global"`)
		case f.GetControlId() == "":
			return nil, server.FieldError(field("control_id"), "required")
		case f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_UNSPECIFIED:
			return nil, server.FieldError(field("status"), "required")
		case f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED && f.GetNotAssessedReason() == evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_UNSPECIFIED:
			return nil, server.FieldError(field("not_assessed_reason"), "required when status is FINDING_STATUS_NOT_ASSESSED")
		}
	}
	for _, f := range req.GetFindings() {
		dropUnknown(f)
	}
	scopes := make([]store.Scope, len(req.GetAssessed()))
	for i, a := range req.GetAssessed() {
		scopes[i] = store.Scope{Account: a.GetAccountId(), Region: a.GetRegion()}
	}
	inserted, dups, err := s.store.RecordFindings(ctx, id, req.GetFindings(), scopes)
	if err != nil {
		return nil, s.storeError("record findings", err)
	}
	countRecorded(req.GetFindings(), dups)
	s.log.InfoContext(ctx, "findings recorded", "sweep_id", id, "inserted", inserted, "duplicates", dups, "scopes", len(scopes))
	return &reportingv1.RecordFindingsResponse{Inserted: int32(inserted), Duplicates: int32(dups)}, nil
}

// FinalizeSweep closes a sweep with its final state.
func (s *Service) FinalizeSweep(ctx context.Context, req *reportingv1.FinalizeSweepRequest) (*reportingv1.FinalizeSweepResponse, error) {
	sw, err := s.store.FinalizeSweep(ctx, req.GetSweepId(), req.GetState(), s.now())
	if err != nil {
		return nil, s.storeError("finalize sweep", err)
	}
	countFinalized(sw.GetState())
	s.log.InfoContext(ctx, "sweep finalized", "sweep_id", sw.GetSweepId(), "state", sw.GetState().String(), "findings", sw.GetCounts().GetFindings())
	return &reportingv1.FinalizeSweepResponse{Sweep: sw}, nil
}

// GetSweep returns one sweep with its counts.
func (s *Service) GetSweep(ctx context.Context, req *reportingv1.GetSweepRequest) (*reportingv1.GetSweepResponse, error) {
	sw, err := s.store.GetSweep(ctx, req.GetSweepId())
	if err != nil {
		return nil, s.storeError("get sweep", err)
	}
	return &reportingv1.GetSweepResponse{Sweep: sw}, nil
}

// ListSweeps lists sweeps newest first.
func (s *Service) ListSweeps(ctx context.Context, req *reportingv1.ListSweepsRequest) (*reportingv1.ListSweepsResponse, error) {
	sweeps, next, err := s.store.ListSweeps(ctx, req.GetState(), store.Page{Size: int(req.GetPageSize()), Token: req.GetPageToken()})
	if err != nil {
		return nil, s.storeError("list sweeps", err)
	}
	return &reportingv1.ListSweepsResponse{Sweeps: sweeps, NextPageToken: next}, nil
}

// ListFindings lists a sweep's findings, filtered and paged.
func (s *Service) ListFindings(ctx context.Context, req *reportingv1.ListFindingsRequest) (*reportingv1.ListFindingsResponse, error) {
	fs, next, total, err := s.store.ListFindings(ctx, req.GetSweepId(), toFilter(req.GetFilter()), store.Page{Size: int(req.GetPageSize()), Token: req.GetPageToken()})
	if err != nil {
		return nil, s.storeError("list findings", err)
	}
	return &reportingv1.ListFindingsResponse{Findings: fs, NextPageToken: next, TotalSize: total}, nil
}

// DiffSweeps compares a sweep's failing findings with an earlier sweep's.
func (s *Service) DiffSweeps(ctx context.Context, req *reportingv1.DiffSweepsRequest) (*reportingv1.DiffSweepsResponse, error) {
	if req.GetBaseSweepId() == req.GetSweepId() {
		return nil, server.FieldError("base_sweep_id", "must differ from sweep_id")
	}
	changes, next, counts, err := s.store.Diff(ctx, req.GetBaseSweepId(), req.GetSweepId(), req.GetKinds(), toFilter(req.GetFilter()),
		store.Page{Size: int(req.GetPageSize()), Token: req.GetPageToken()})
	if err != nil {
		return nil, s.storeError("diff sweeps", err)
	}
	return &reportingv1.DiffSweepsResponse{Changes: changes, NextPageToken: next, Counts: counts}, nil
}

// ExportReport renders a sweep and writes it to its destination.
func (s *Service) ExportReport(ctx context.Context, req *reportingv1.ExportReportRequest) (*reportingv1.ExportReportResponse, error) {
	id := req.GetSweepId()
	sw, err := s.store.GetSweep(ctx, id)
	if err != nil {
		return nil, s.storeError("export report", err)
	}
	// No filter exports the whole sweep, suppressed findings too (marked so);
	// the HTML report always summarises the whole sweep.
	filter := store.Filter{IncludeSuppressed: true}
	if req.GetFilter() != nil && req.GetFormat() != reportingv1.ReportFormat_REPORT_FORMAT_HTML {
		filter = toFilter(req.GetFilter())
	}
	dst := req.GetDestination()
	if dst.GetSecurityHub() != nil {
		// Security Hub archives what a sweep no longer reports in the scopes
		// it assessed: it must see the whole sweep, suppressed findings too.
		if f := req.GetFilter(); f != nil && (len(f.GetControlIds())+len(f.GetSeverities())+len(f.GetStatuses())+len(f.GetAccountIds())+len(f.GetRegions()) > 0) {
			return nil, server.FieldError("filter", "a Security Hub export takes the whole sweep; a filter would archive the findings it leaves out")
		}
		filter = store.Filter{IncludeSuppressed: true}
	}
	scopes, err := s.store.Assessed(ctx, id)
	if err != nil {
		return nil, s.storeError("export report", err)
	}
	in := &export.Input{
		Sweep:    sw,
		Assessed: make([]export.Scope, len(scopes)),
		Findings: func(ctx context.Context) iter.Seq2[*evaluationv1.Finding, error] {
			return s.store.Findings(ctx, id, filter)
		},
		GeneratedAt: s.now().UTC(),
		Version:     s.version,
	}
	for i, sc := range scopes {
		in.Assessed[i] = export.Scope{Account: sc.Account, Region: sc.Region}
	}
	if req.GetFormat() == reportingv1.ReportFormat_REPORT_FORMAT_HTML {
		if in.History, err = s.history(ctx, sw); err != nil {
			return nil, s.storeError("export report", err)
		}
	}
	start := time.Now()
	var resp *reportingv1.ExportReportResponse
	if hub := dst.GetSecurityHub(); hub != nil {
		resp, err = s.sendToSecurityHub(ctx, hub.GetRegion(), in)
	} else {
		resp, err = s.writeReport(ctx, req.GetFormat(), dst, in)
	}
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "report exported", "sweep_id", id, "format", req.GetFormat().String(), "destination", destinationKind(dst),
		"findings", resp.GetFindingsExported(), "bytes", resp.GetBytesWritten(), "duration_ms", time.Since(start).Milliseconds())
	return resp, nil
}

func destinationKind(d *reportingv1.Destination) string {
	switch {
	case d.GetFile() != nil:
		return "file"
	case d.GetS3() != nil:
		return "s3"
	case d.GetSecurityHub() != nil:
		return "security_hub"
	}
	return "unknown"
}

// writeReport renders the format into a file or an S3 object.
func (s *Service) writeReport(ctx context.Context, format reportingv1.ReportFormat, dst *reportingv1.Destination, in *export.Input) (*reportingv1.ExportReportResponse, error) {
	ex, err := export.ByFormat(format)
	if err != nil {
		return nil, server.FieldError("format", err.Error())
	}
	var n int64
	render := func(w io.Writer) error {
		var err error
		n, err = ex.Export(ctx, in, w)
		return err
	}
	var out *written
	switch {
	case dst.GetFile() != nil:
		path, perr := s.resolvePath(dst.GetFile().GetPath())
		if perr != nil {
			return nil, destinationStatus(perr)
		}
		out, err = s.writeFile(path, render)
	case dst.GetS3() != nil:
		out, err = s.writeS3(ctx, dst.GetS3(), contentType(format), render)
	default:
		return nil, server.FieldError("destination", "required: file, s3 or security_hub")
	}
	if err != nil {
		return nil, s.exportError(err)
	}
	return &reportingv1.ExportReportResponse{Uri: out.uri, BytesWritten: out.bytes, FindingsExported: n, Sha256: out.sha256}, nil
}

// sendToSecurityHub imports the sweep's findings into Security Hub in
// region. Security Hub takes findings under an account's default product
// only from that account, so with --security-hub-role the findings of each
// assessed account are imported by that account (through the role; the
// service's own account directly) under its own default product, and the
// archiving of findings it no longer reports stays within that account's
// assessed scopes. With --security-hub-product-arn (an integration product
// that may import for many accounts) one sender imports everything. With
// neither, only a sweep of the service's own account can be imported.
func (s *Service) sendToSecurityHub(ctx context.Context, region string, in *export.Input) (*reportingv1.ExportReportResponse, error) {
	if product := s.cfg.SecurityHubProductARN; product != "" {
		if r := strings.Split(product, ":"); len(r) > 3 && r[3] != region {
			return nil, server.FieldError("destination.security_hub.region", fmt.Sprintf("the configured --security-hub-product-arn is in %s; export to that region", r[3]))
		}
		res, err := export.SendToSecurityHub(ctx, s.securityHub(region, nil), in, product)
		if err != nil {
			return nil, s.exportError(err)
		}
		return s.securityHubResponse(ctx, in, region, product, res)
	}
	caller, err := s.callerAccount(ctx, region)
	if err != nil {
		return nil, s.exportError(err)
	}
	accounts := map[string]bool{}
	for _, sc := range in.Assessed {
		accounts[sc.Account] = true
	}
	if s.cfg.SecurityHubRole == "" && (len(accounts) > 1 || (len(accounts) == 1 && !accounts[caller])) {
		return nil, status.Error(codes.FailedPrecondition, "Security Hub accepts findings under an account's default product only from that account: "+
			"start the reporting service with --security-hub-role (a role in each member account allowed securityhub:BatchImportFindings, "+
			"securityhub:GetFindings and securityhub:BatchUpdateFindings) or --security-hub-product-arn (an integration product)")
	}
	var total export.SecurityHubResult
	ids := slices.Sorted(maps.Keys(accounts))
	for _, acct := range ids {
		var creds aws.CredentialsProvider
		if acct != caller {
			creds = s.roleCredentials(region, acct)
		}
		sub := *in
		sub.Assessed = nil
		for _, sc := range in.Assessed {
			if sc.Account == acct {
				sub.Assessed = append(sub.Assessed, sc)
			}
		}
		sweepID, account := in.Sweep.GetSweepId(), acct
		sub.Findings = func(ctx context.Context) iter.Seq2[*evaluationv1.Finding, error] {
			return s.store.Findings(ctx, sweepID, store.Filter{AccountIDs: []string{account}, IncludeSuppressed: true})
		}
		res, err := export.SendToSecurityHub(ctx, s.securityHub(region, creds), &sub, export.DefaultProductARN(region, acct))
		total.Imported += res.Imported
		total.Retried += res.Retried
		total.Failed += res.Failed
		total.Archived += res.Archived
		total.WorkflowUpdated += res.WorkflowUpdated
		total.WorkflowFailed += res.WorkflowFailed
		total.ImportRequests += res.ImportRequests
		if len(total.Failures) < 100 {
			total.Failures = append(total.Failures, res.Failures...)
		}
		if err != nil {
			s.log.WarnContext(ctx, "security hub import failed", "sweep_id", sweepID, "account_id", acct, "imported", total.Imported)
			return nil, s.exportError(err)
		}
	}
	return s.securityHubResponse(ctx, in, region, fmt.Sprintf("%d accounts' default products", len(ids)), total)
}

func (s *Service) securityHubResponse(ctx context.Context, in *export.Input, region, product string, res export.SecurityHubResult) (*reportingv1.ExportReportResponse, error) {
	s.log.InfoContext(ctx, "security hub import", "sweep_id", in.Sweep.GetSweepId(), "region", region, "imported", res.Imported,
		"retried", res.Retried, "failed", res.Failed, "archived", res.Archived, "workflow_updated", res.WorkflowUpdated, "requests", res.ImportRequests)
	if res.Failed > 0 {
		first := res.Failures[0]
		return nil, status.Errorf(codes.Unavailable, "security hub refused %d findings (imported %d; first refusal: %s); run the export again to retry them",
			res.Failed, res.Imported, first.Code)
	}
	return &reportingv1.ExportReportResponse{Uri: "securityhub:" + region + ":" + product, FindingsExported: res.Imported}, nil
}

// securityHub is a Security Hub client for region with creds (nil: the service's own).
func (s *Service) securityHub(region string, creds aws.CredentialsProvider) *securityhub.Client {
	return securityhub.NewFromConfig(s.aws, func(o *securityhub.Options) {
		o.Region = region
		if creds != nil {
			o.Credentials = creds
		}
		if s.cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(s.cfg.EndpointURL)
		}
	})
}

// roleCredentials are cached credentials of --security-hub-role in account.
func (s *Service) roleCredentials(region, account string) aws.CredentialsProvider {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.roles[account]; ok {
		return p
	}
	client := sts.NewFromConfig(s.aws, func(o *sts.Options) {
		o.Region = region
		if s.cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(s.cfg.EndpointURL)
		}
	})
	arn := fmt.Sprintf("arn:%s:iam::%s:role/%s", partitionOf(region), account, s.cfg.SecurityHubRole)
	p := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, arn, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "dpsweep-reporting"
	}))
	s.roles[account] = p
	return p
}

func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// callerAccount is the account of the service's credentials (sts:GetCallerIdentity), cached per region.
func (s *Service) callerAccount(ctx context.Context, region string) (string, error) {
	s.mu.Lock()
	acct, ok := s.accounts[region]
	s.mu.Unlock()
	if ok {
		return acct, nil
	}
	client := sts.NewFromConfig(s.aws, func(o *sts.Options) {
		o.Region = region
		if s.cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(s.cfg.EndpointURL)
		}
	})
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", awsError("sts:GetCallerIdentity", err)
	}
	acct = aws.ToString(out.Account)
	s.mu.Lock()
	s.accounts[region] = acct
	s.mu.Unlock()
	return acct, nil
}

// s3 returns the S3 client of a region (path-style against an endpoint override).
func (s *Service) s3(region string) *s3.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.s3Clients[region]; ok {
		return c
	}
	c := s3.NewFromConfig(s.aws, func(o *s3.Options) {
		o.Region = region
		if s.cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(s.cfg.EndpointURL)
			o.UsePathStyle = true
		}
	})
	s.s3Clients[region] = c
	return c
}

// history returns up to cfg.History sweeps started before sw, oldest first.
func (s *Service) history(ctx context.Context, sw *reportingv1.Sweep) ([]*reportingv1.Sweep, error) {
	if s.cfg.History == 0 {
		return nil, nil
	}
	var out []*reportingv1.Sweep
	page := store.Page{Size: 200}
	for len(out) < s.cfg.History {
		sweeps, next, err := s.store.ListSweeps(ctx, reportingv1.SweepState_SWEEP_STATE_UNSPECIFIED, page)
		if err != nil {
			return nil, err
		}
		for _, o := range sweeps {
			if o.GetSweepId() != sw.GetSweepId() && !o.GetStartedAt().AsTime().After(sw.GetStartedAt().AsTime()) && len(out) < s.cfg.History {
				out = append(out, o)
			}
		}
		if next == "" {
			break
		}
		page.Token = next
	}
	slices.Reverse(out)
	return out, nil
}

// dropUnknown clears fields this version does not know from a finding, so
// that the store keeps only what the API defines.
func dropUnknown(m proto.Message) {
	r := m.ProtoReflect()
	r.SetUnknown(nil)
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() != nil && fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				dropUnknown(v.List().Get(i).Message().Interface())
			}
		case fd.Message() != nil && !fd.IsMap():
			dropUnknown(v.Message().Interface())
		}
		return true
	})
}

func toFilter(f *reportingv1.FindingFilter) store.Filter {
	if f == nil {
		return store.Filter{}
	}
	return store.Filter{ControlIDs: f.GetControlIds(), Severities: f.GetSeverities(), Statuses: f.GetStatuses(),
		AccountIDs: f.GetAccountIds(), Regions: f.GetRegions(), IncludeSuppressed: f.GetIncludeSuppressed()}
}

// storeError maps a store error to a gRPC status. Unknown errors are logged
// and answered INTERNAL without their text (it may name database details).
func (s *Service) storeError(op string, err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	case errors.Is(err, store.ErrNotFound):
		return status.Errorf(codes.NotFound, "%s: %v", op, err)
	case errors.Is(err, store.ErrBadPageToken):
		return server.FieldError("page_token", err.Error()+"; pass the next_page_token of the previous response unchanged, with the same sweep and filter")
	case errors.Is(err, store.ErrFinalized):
		return status.Errorf(codes.FailedPrecondition, "%s: %v", op, err)
	}
	s.log.Error("store failure", "op", op, "err", err)
	return status.Errorf(codes.Internal, "%s: the findings store failed; see the reporting service's log", op)
}

// exportError maps a failed export to a gRPC status.
func (s *Service) exportError(err error) error {
	if _, ok := status.FromError(err); ok && status.Code(err) != codes.Unknown {
		return err
	}
	var de *errDestination
	switch {
	case errors.As(err, &de):
		return server.FieldError(de.field, de.problem)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	var ae *awsErr
	if errors.As(err, &ae) {
		return ae.status()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return (&awsErr{op: "aws", code: api.ErrorCode(), err: err}).status()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		s.log.Error("export failed: AWS endpoint unreachable", "op", ue.Op)
		return status.Error(codes.Unavailable, "export failed: the AWS endpoint could not be reached; see the reporting service's log")
	}
	s.log.Error("export failed", "err", err)
	return status.Error(codes.Internal, "export failed; see the reporting service's log")
}

func destinationStatus(err error) error {
	var de *errDestination
	if errors.As(err, &de) {
		return server.FieldError(de.field, de.problem)
	}
	return status.Error(codes.Internal, err.Error())
}

// awsErr is a failed AWS call, keeping only the operation and error code:
// AWS messages can name accounts and ARNs.
type awsErr struct {
	op, code string
	err      error
}

func (e *awsErr) Error() string { return e.op + ": " + e.code }
func (e *awsErr) Unwrap() error { return e.err }

func (e *awsErr) status() error {
	c := codes.Unavailable
	switch e.code {
	case "AccessDenied", "AccessDeniedException", "InvalidAccessException", "KMS.AccessDeniedException", "KMS.DisabledException",
		"KMS.NotFoundException", "UnauthorizedOperation", "ExpiredToken", "InvalidClientTokenId", "SignatureDoesNotMatch":
		c = codes.PermissionDenied
	case "NoSuchBucket", "ResourceNotFoundException", "InvalidInputException", "InvalidArgument", "KMS.InvalidKeyUsageException":
		c = codes.FailedPrecondition
	case "Throttling", "ThrottlingException", "TooManyRequestsException", "SlowDown", "LimitExceededException":
		c = codes.ResourceExhausted
	}
	return status.Error(c, e.Error())
}

func awsError(op string, err error) error {
	code := "unknown"
	var api smithy.APIError
	if errors.As(err, &api) {
		code = api.ErrorCode()
	} else if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &awsErr{op: op, code: code, err: err}
}
