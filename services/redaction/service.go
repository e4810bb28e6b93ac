// Package redaction is dpsweep's RedactionService: it detects and scrubs PII,
// credentials and account numbers in free-form text. The detection engine
// is in package engine; this package maps it onto the gRPC API.
package redaction

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/redaction/engine"
)

// DefaultAddr is where the service listens unless configured otherwise.
const DefaultAddr = "127.0.0.1:7403"

// Service implements redactionv1.RedactionServiceServer.
type Service struct {
	redactionv1.UnimplementedRedactionServiceServer
	log       *slog.Logger
	redactor  *engine.Redactor
	maxText   int
	policies  map[string]*redactionv1.NamedPolicy
	compiled  map[string]*engine.Policy
	decryptID map[string]bool
}

var _ redactionv1.RedactionServiceServer = (*Service)(nil)

// New builds the service from its configuration.
func New(cfg Config, log *slog.Logger) (*Service, error) {
	if cfg.MaxTextBytes <= 0 {
		return nil, fmt.Errorf("--max-text-bytes must be positive, got %d", cfg.MaxTextBytes)
	}
	keys, err := loadKeys(cfg, log)
	if err != nil {
		return nil, err
	}
	s := &Service{
		log:       log,
		redactor:  &engine.Redactor{Engine: engine.New(), Keys: keys},
		maxText:   cfg.MaxTextBytes,
		policies:  map[string]*redactionv1.NamedPolicy{},
		compiled:  map[string]*engine.Policy{},
		decryptID: map[string]bool{},
	}
	named := builtinPolicies()
	if cfg.PolicyFile != "" {
		extra, err := loadPolicies(cfg.PolicyFile)
		if err != nil {
			return nil, err
		}
		named = append(named, extra...)
	}
	for _, np := range named {
		p, err := toPolicy(s.redactor.Engine, np.GetPolicy(), "policy.")
		if err != nil {
			return nil, fmt.Errorf("policy %q: %s", np.GetName(), status.Convert(err).Message())
		}
		s.policies[np.GetName()] = np
		s.compiled[np.GetName()] = p
	}
	for _, id := range strings.Split(cfg.DecryptIdentities, ",") {
		if id = strings.TrimSpace(id); id != "" {
			s.decryptID[id] = true
		}
	}
	return s, nil
}

func loadKeys(cfg Config, log *slog.Logger) (*engine.Keys, error) {
	random := engine.RandomKeys()
	if cfg.HashKeyFile == "" && cfg.EncryptionKeyFile == "" {
		log.Warn("no --hash-key-file or --encryption-key-file: using random keys, so pseudonyms and encrypted tokens last only as long as this process")
		return random, nil
	}
	if cfg.HashKeyFile == "" || cfg.EncryptionKeyFile == "" {
		return nil, errors.New("--hash-key-file and --encryption-key-file must be given together")
	}
	hk, err := readKey(cfg.HashKeyFile, 32)
	if err != nil {
		return nil, fmt.Errorf("--hash-key-file: %w", err)
	}
	ek, err := readKey(cfg.EncryptionKeyFile, 32)
	if err != nil {
		return nil, fmt.Errorf("--encryption-key-file: %w", err)
	}
	if len(ek) != 32 {
		return nil, fmt.Errorf("--encryption-key-file: %d bytes, want 32 (AES-256)", len(ek))
	}
	return engine.NewKeys(hk, ek)
}

// Register installs the service with its default configuration.
func Register(ctx context.Context, s *grpc.Server, log *slog.Logger) (func(), error) {
	c := DefaultConfig()
	return c.Register(ctx, s, log)
}

// Register installs the service configured by c; it is the
// server.Service.Register hook. It reads c when called, after flags are parsed.
func (c *Config) Register(_ context.Context, s *grpc.Server, log *slog.Logger) (func(), error) {
	svc, err := New(*c, log)
	if err != nil {
		return nil, err
	}
	redactionv1.RegisterRedactionServiceServer(s, svc)
	return nil, nil
}

// policy resolves a request's policy: the per-request one, else the named
// one, else "default".
func (s *Service) policy(p *redactionv1.Policy, name string) (*engine.Policy, error) {
	if p != nil {
		return toPolicy(s.redactor.Engine, p, "policy.")
	}
	if name == "" {
		name = "default"
	}
	cp, ok := s.compiled[name]
	if !ok {
		return nil, server.FieldError("policy_name", fmt.Sprintf("unknown policy %q; ListPolicies lists the server's policies", name))
	}
	return cp, nil
}

func (s *Service) checkText(field, text string) error {
	if len(text) > s.maxText {
		return server.FieldError(field, fmt.Sprintf("%d bytes exceeds the limit of %d bytes", len(text), s.maxText))
	}
	return nil
}

func (s *Service) redact(text string, p *engine.Policy) (*redactionv1.RedactResponse, error) {
	out, fs, err := s.redactor.Redact(text, p)
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "redact: %v", err)
	}
	countScan(text, fs)
	return &redactionv1.RedactResponse{RedactedText: out, Findings: toFindings(fs)}, nil
}

// Redact scrubs one text.
func (s *Service) Redact(_ context.Context, req *redactionv1.RedactRequest) (*redactionv1.RedactResponse, error) {
	if err := s.checkText("text", req.GetText()); err != nil {
		return nil, err
	}
	p, err := s.policy(req.GetPolicy(), req.GetPolicyName())
	if err != nil {
		return nil, err
	}
	return s.redact(req.GetText(), p)
}

// RedactBatch scrubs many texts with one policy.
func (s *Service) RedactBatch(_ context.Context, req *redactionv1.RedactBatchRequest) (*redactionv1.RedactBatchResponse, error) {
	for i, t := range req.GetTexts() {
		if err := s.checkText(fmt.Sprintf("texts[%d]", i), t); err != nil {
			return nil, err
		}
	}
	p, err := s.policy(req.GetPolicy(), req.GetPolicyName())
	if err != nil {
		return nil, err
	}
	resp := &redactionv1.RedactBatchResponse{Results: make([]*redactionv1.RedactResponse, len(req.GetTexts()))}
	for i, t := range req.GetTexts() {
		if resp.Results[i], err = s.redact(t, p); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// RedactStream scrubs a stream of texts, one response per request, in order.
func (s *Service) RedactStream(stream grpc.BidiStreamingServer[redactionv1.RedactStreamRequest, redactionv1.RedactStreamResponse]) error {
	var p *engine.Policy
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if p == nil {
			if p, err = s.policy(req.GetPolicy(), req.GetPolicyName()); err != nil {
				return err
			}
		}
		if err := s.checkText("text", req.GetText()); err != nil {
			return err
		}
		r, err := s.redact(req.GetText(), p)
		if err != nil {
			return err
		}
		if err := stream.Send(&redactionv1.RedactStreamResponse{RedactedText: r.GetRedactedText(), Findings: r.GetFindings(), Id: req.GetId()}); err != nil {
			return err
		}
	}
}

// Detect reports what Redact would scrub.
func (s *Service) Detect(_ context.Context, req *redactionv1.DetectRequest) (*redactionv1.DetectResponse, error) {
	if err := s.checkText("text", req.GetText()); err != nil {
		return nil, err
	}
	p, err := toPolicy(s.redactor.Engine, &redactionv1.Policy{EntityTypes: req.GetEntityTypes(), MinConfidence: req.GetMinConfidence()}, "")
	if err != nil {
		return nil, err
	}
	fs := s.redactor.Detect(req.GetText(), p)
	countScan(req.GetText(), fs)
	return &redactionv1.DetectResponse{Findings: toFindings(fs)}, nil
}

// page returns the slice of sorted names after token, at most size long,
// and the next token.
func page(names []string, token string, size int32, def int) ([]string, string) {
	n := int(size)
	if n == 0 {
		n = def
	}
	i, _ := slices.BinarySearch(names, token)
	if token != "" && i < len(names) && names[i] == token {
		i++
	}
	end := min(len(names), i+n)
	next := ""
	if end < len(names) {
		next = names[end-1]
	}
	return names[i:end], next
}

// ListDetectors lists the detectors, by name.
func (s *Service) ListDetectors(_ context.Context, req *redactionv1.ListDetectorsRequest) (*redactionv1.ListDetectorsResponse, error) {
	byName := map[string]engine.Detector{}
	var names []string
	for _, d := range s.redactor.Engine.Detectors() {
		if c := req.GetCategory(); c != redactionv1.EntityCategory_ENTITY_CATEGORY_UNSPECIFIED && fromCategory(d.Category) != c {
			continue
		}
		byName[d.Name] = d
		names = append(names, d.Name)
	}
	slices.Sort(names)
	sel, next := page(names, req.GetPageToken(), req.GetPageSize(), 100)
	resp := &redactionv1.ListDetectorsResponse{NextPageToken: next}
	for _, n := range sel {
		d := byName[n]
		kw := d.Keywords
		if len(kw) == 1 && kw[0] == "digits" {
			kw = nil
		}
		resp.Detectors = append(resp.Detectors, &redactionv1.Detector{
			Name: d.Name, EntityType: d.Entity, Category: fromCategory(d.Category), Description: d.Description, Keywords: kw,
		})
	}
	return resp, nil
}

// ListPolicies lists the named policies.
func (s *Service) ListPolicies(_ context.Context, req *redactionv1.ListPoliciesRequest) (*redactionv1.ListPoliciesResponse, error) {
	names := make([]string, 0, len(s.policies))
	for n := range s.policies {
		names = append(names, n)
	}
	slices.Sort(names)
	sel, next := page(names, req.GetPageToken(), req.GetPageSize(), 100)
	resp := &redactionv1.ListPoliciesResponse{NextPageToken: next}
	for _, n := range sel {
		resp.Policies = append(resp.Policies, s.policies[n])
	}
	return resp, nil
}

// Decrypt opens encrypt-operator tokens, for authorised callers only: the
// caller must present a client certificate (mutual TLS) whose common name,
// DNS or URI SAN is in --decrypt-identities.
func (s *Service) Decrypt(ctx context.Context, req *redactionv1.DecryptRequest) (*redactionv1.DecryptResponse, error) {
	if err := s.checkText("text", req.GetText()); err != nil {
		return nil, err
	}
	id, ok := s.authorisedForDecrypt(ctx)
	if !ok {
		s.log.Warn("decrypt refused", "identity", id)
		return nil, status.Error(codes.PermissionDenied, "Decrypt is allowed only to client identities listed in --decrypt-identities, over mutual TLS")
	}
	text, n := s.redactor.Keys.Decrypt(req.GetText())
	s.log.Info("decrypt", "identity", id, "tokens", n)
	return &redactionv1.DecryptResponse{Text: text, Decrypted: int32(n)}, nil
}

// authorisedForDecrypt returns the caller's verified certificate identity
// and whether it may decrypt.
func (s *Service) authorisedForDecrypt(ctx context.Context) (string, bool) {
	cert := server.PeerCertificate(ctx)
	if cert == nil {
		return "", false
	}
	for _, id := range server.Identities(cert) {
		if s.decryptID[id] {
			return id, true
		}
	}
	return cert.Subject.CommonName, false
}
