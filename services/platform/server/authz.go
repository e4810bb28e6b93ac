package server

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// PeerCertificate returns the caller's client certificate as the TLS
// handshake verified it against --tls-client-ca, or nil when the caller
// presented none (plaintext, TLS without a client certificate).
func PeerCertificate(ctx context.Context) *x509.Certificate {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return nil
	}
	return ti.State.VerifiedChains[0][0]
}

// Identities are the names a client certificate answers to: its subject
// common name, every DNS SAN and every URI SAN, in that order. They are
// what --allow-identities and redaction's --decrypt-identities list.
func Identities(c *x509.Certificate) []string {
	if c == nil {
		return nil
	}
	var ids []string
	if c.Subject.CommonName != "" {
		ids = append(ids, c.Subject.CommonName)
	}
	ids = append(ids, c.DNSNames...)
	for _, u := range c.URIs {
		ids = append(ids, u.String())
	}
	return ids
}

// PeerIdentities returns the identities of the caller's verified client
// certificate; ok is false when it presented none.
func PeerIdentities(ctx context.Context) (ids []string, ok bool) {
	c := PeerCertificate(ctx)
	if c == nil {
		return nil, false
	}
	return Identities(c), true
}

// anyIdentity in a rule lets in every caller with a verified certificate.
const anyIdentity = "*"

// otherMethods as a rule's method stands for every method no other rule names.
const otherMethods = "*"

// AuthzRules is a parsed --allow-identities: which client identities may
// call which methods. Methods no rule names, and no "*" rule covers, are
// open to every caller with a verified client certificate; health checks
// and reflection are always open.
type AuthzRules struct {
	// byMethod maps a method, as written (RecordFindings,
	// dpsweep.reporting.v1.ReportingService/RecordFindings or "*"), to the
	// identities allowed; "*" in the set allows any verified identity.
	byMethod map[string]map[string]bool
	// resolved maps full method names (/pkg.Service/Method) to their
	// identities once Resolve has seen the registered services.
	resolved map[string]map[string]bool
	// other is the "*" rule's identities, nil without one.
	other map[string]bool
}

// ParseAuthzRules reads the --allow-identities syntax:
//
//	METHODS=IDENTITIES[;METHODS=IDENTITIES...]
//
// METHODS is a comma-separated list of method names (RecordFindings, or
// qualified: dpsweep.reporting.v1.ReportingService/RecordFindings), or "*"
// for every method no other rule names. IDENTITIES is a comma-separated list
// of client-certificate identities (common name, DNS or URI SAN), or "*"
// for any caller with a certificate from --tls-client-ca. Whitespace around
// names is ignored. An empty string is no rules.
func ParseAuthzRules(s string) (*AuthzRules, error) {
	r := &AuthzRules{byMethod: map[string]map[string]bool{}}
	for _, rule := range strings.Split(s, ";") {
		rule = strings.TrimSpace(rule)
		if rule == "" {
			continue
		}
		methods, ids, ok := strings.Cut(rule, "=")
		if !ok {
			return nil, fmt.Errorf("--allow-identities: rule %q: want METHODS=IDENTITIES", rule)
		}
		idSet := map[string]bool{}
		for _, id := range strings.Split(ids, ",") {
			if id = strings.TrimSpace(id); id != "" {
				idSet[id] = true
			}
		}
		if len(idSet) == 0 {
			return nil, fmt.Errorf("--allow-identities: rule %q lists no identity (use * for any client certificate)", rule)
		}
		named := 0
		for _, m := range strings.Split(methods, ",") {
			m = strings.TrimPrefix(strings.TrimSpace(m), "/")
			if m == "" {
				continue
			}
			if strings.ContainsAny(m, " =") || strings.Count(m, "/") > 1 {
				return nil, fmt.Errorf("--allow-identities: rule %q: %q is not a method name", rule, m)
			}
			if _, dup := r.byMethod[m]; dup {
				return nil, fmt.Errorf("--allow-identities: method %s appears in two rules", m)
			}
			r.byMethod[m] = idSet
			named++
		}
		if named == 0 {
			return nil, fmt.Errorf("--allow-identities: rule %q names no method", rule)
		}
	}
	if len(r.byMethod) == 0 {
		return nil, nil
	}
	r.other = r.byMethod[otherMethods]
	return r, nil
}

// Resolve ties every rule to the methods of the services registered on s
// and reports a rule that names no method of them (a typo would otherwise
// leave the method open).
func (r *AuthzRules) Resolve(info map[string]grpc.ServiceInfo) error {
	r.resolved = map[string]map[string]bool{}
	used := map[string]bool{}
	for svc, si := range info {
		if exempt("/" + svc + "/") {
			continue
		}
		for _, m := range si.Methods {
			for _, key := range []string{m.Name, svc + "/" + m.Name} {
				if ids, ok := r.byMethod[key]; ok {
					r.resolved["/"+svc+"/"+m.Name] = ids
					used[key] = true
				}
			}
		}
	}
	var unknown []string
	for m := range r.byMethod {
		if m != otherMethods && !used[m] {
			unknown = append(unknown, m)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		var known []string
		for svc, si := range info {
			if exempt("/" + svc + "/") {
				continue
			}
			for _, m := range si.Methods {
				known = append(known, m.Name)
			}
		}
		sort.Strings(known)
		return fmt.Errorf("--allow-identities names %s, which this server does not serve (its methods: %s)",
			strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return nil
}

// allowed returns the identities that may call fullMethod, nil meaning any
// caller with a verified certificate.
func (r *AuthzRules) allowed(fullMethod string) map[string]bool {
	if r == nil {
		return nil
	}
	if ids, ok := r.resolved[fullMethod]; ok {
		return ids
	}
	return r.other
}

// LogAttrs describes the rules for the startup log: method -> identities.
func (r *AuthzRules) LogAttrs() []any {
	if r == nil {
		return []any{"rules", "none: any client certificate from --tls-client-ca"}
	}
	var parts []string
	for m, ids := range r.byMethod {
		parts = append(parts, m+"="+strings.Join(slices.Sorted(maps.Keys(ids)), ","))
	}
	sort.Strings(parts)
	return []any{"rules", strings.Join(parts, ";")}
}

// exempt reports the methods that stay open to every caller the transport
// lets in: health checks (probes) and reflection.
func exempt(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/"+healthpb.Health_ServiceDesc.ServiceName+"/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// authorize decides one call: nil, UNAUTHENTICATED without a verified
// client certificate, PERMISSION_DENIED when the certificate's identities
// are not among the method's. The messages name the method, never who
// would have been allowed.
func authorize(ctx context.Context, log *slog.Logger, rules *AuthzRules, fullMethod string) error {
	if exempt(fullMethod) {
		return nil
	}
	cert := PeerCertificate(ctx)
	if cert == nil {
		log.Warn("rpc refused: no client certificate", "method", fullMethod)
		return status.Errorf(codes.Unauthenticated, "%s requires a client certificate (mutual TLS)", fullMethod)
	}
	ids := rules.allowed(fullMethod)
	if ids == nil || ids[anyIdentity] {
		return nil
	}
	for _, id := range Identities(cert) {
		if ids[id] {
			return nil
		}
	}
	log.Warn("rpc refused: identity not allowed", "method", fullMethod, "identity", cert.Subject.CommonName)
	return status.Errorf(codes.PermissionDenied, "%s: the caller's client certificate is not allowed to call this method", fullMethod)
}

// UnaryAuthz and StreamAuthz enforce rules (nil: any verified client
// certificate) on every method but health checks and reflection.
func UnaryAuthz(log *slog.Logger, rules *AuthzRules) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := authorize(ctx, log, rules, info.FullMethod); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamAuthz is UnaryAuthz for streaming RPCs; it decides before the
// handler reads the first message.
func StreamAuthz(log *slog.Logger, rules *AuthzRules) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := authorize(ss.Context(), log, rules, info.FullMethod); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}
