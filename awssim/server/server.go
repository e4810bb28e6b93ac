// Package server is the AWS simulator's HTTP server. It speaks each
// service's own wire protocol — query/XML (STS, IAM), EC2 query, REST-XML
// (S3, path-style), JSON 1.0/1.1 (DynamoDB, CloudTrail, Organizations,
// Service Catalog, KMS) and REST-JSON (Macie2, Serverless Application
// Repository, Security Hub, Account) — so aws-sdk-go-v2 clients and the
// AWS CLI work against it unmodified through an endpoint override.
//
// Requests are SigV4-signed: the access key decides whose request it is
// (an account's root, or a role session from sts:AssumeRole, which sees only
// its own account) and the signature is verified. Faults (latency,
// throttling, 5xx, AccessDenied, small pages) are set per server, and calls
// are counted per service, operation, account and region.
package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// Options configure a server.
type Options struct {
	World *world.World
	// Faults at start; SetFaults changes them.
	Faults Faults
	// SkipSignatureCheck accepts any signature from a known access key.
	SkipSignatureCheck bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxSessionDuration caps sts:AssumeRole sessions (tests use seconds);
	// AWS's one hour when zero.
	MaxSessionDuration time.Duration
}

// Server is the simulator's http.Handler.
type Server struct {
	w      *world.World
	opts   Options
	faults atomic.Pointer[Faults]
	now    func() time.Time

	mu       sync.Mutex
	sessions map[string]*Principal // ASIA access key -> session
	counts   map[CountKey]int64

	// Faults injected so far, by kind.
	throttled, serverErrors, denied atomic.Int64
}

// New builds a server over an indexed world.
func New(opts Options) (*Server, error) {
	if opts.World == nil {
		return nil, errors.New("awssim: Options.World is required")
	}
	s := &Server{w: opts.World, opts: opts, now: opts.Now, sessions: map[string]*Principal{}, counts: map[CountKey]int64{}}
	if s.now == nil {
		s.now = time.Now
	}
	f := opts.Faults
	s.faults.Store(&f)
	return s, nil
}

// World returns the simulated world.
func (s *Server) World() *world.World { return s.w }

// SetFaults replaces the faults.
func (s *Server) SetFaults(f Faults) { s.faults.Store(&f) }

// Faults returns the current faults.
func (s *Server) Faults() Faults { return *s.faults.Load() }

// CountKey identifies a counter.
type CountKey struct{ Service, Operation, Account, Region string }

// Counts returns a copy of the call counters.
func (s *Server) Counts() map[CountKey]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[CountKey]int64, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// InjectedFaults counts the calls answered with an injected fault.
type InjectedFaults struct {
	Throttled    int64 `json:"throttled"`     // the protocol's throttling error (ThrottleRate)
	ServerErrors int64 `json:"server_errors"` // a 5xx (ServerErrorRate)
	Denied       int64 `json:"denied"`        // AccessDenied from a Deny rule
}

// Injected returns how many calls were answered with each kind of injected
// fault since the server started or ResetCounts.
func (s *Server) Injected() InjectedFaults {
	return InjectedFaults{Throttled: s.throttled.Load(), ServerErrors: s.serverErrors.Load(), Denied: s.denied.Load()}
}

// ResetCounts zeroes the counters.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	s.counts = map[CountKey]int64{}
	s.mu.Unlock()
	s.throttled.Store(0)
	s.serverErrors.Store(0)
	s.denied.Store(0)
}

func (s *Server) count(k CountKey) {
	s.mu.Lock()
	s.counts[k]++
	s.mu.Unlock()
}

// Principal is who a request comes from.
type Principal struct {
	AccessKey string
	AccountID string
	ARN       string
	UserID    string
	RoleName  string // set for role sessions
	Secret    string
	Token     string    // session token, for role sessions
	Expires   time.Time // zero for long-term credentials
}

// RootCredentials returns the long-term root access key and secret of an
// account. The management account's are what a sweep starts from.
func RootCredentials(accountID string) (accessKey, secret string) {
	return "AKIASIMX" + accountID, "sim-root-secret-" + accountID + "-000000000000"
}

func (s *Server) principal(accessKey string) (*Principal, bool) {
	if strings.HasPrefix(accessKey, "AKIASIMX") && len(accessKey) == 20 {
		id := accessKey[8:]
		if !s.w.InOrg(id) {
			return nil, false
		}
		ak, secret := RootCredentials(id)
		return &Principal{AccessKey: ak, AccountID: id, ARN: "arn:" + s.w.Partition + ":iam::" + id + ":root", UserID: id, Secret: secret}, ak == accessKey
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.sessions[accessKey]
	return p, ok
}

// newSession stores credentials for an assumed role.
func (s *Server) newSession(accountID, roleName, sessionName string, d time.Duration) *Principal {
	ak := "ASIA" + strings.ToUpper(randHex(8))
	p := &Principal{
		AccessKey: ak,
		AccountID: accountID,
		ARN:       fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", s.w.Partition, accountID, roleName, sessionName),
		UserID:    "AROA" + strings.ToUpper(randHex(8)) + ":" + sessionName,
		RoleName:  roleName,
		Secret:    randHex(20),
		Token:     "IQoJb3JpZ2luX2VjSIM" + randHex(48),
		Expires:   s.now().Add(d),
	}
	s.mu.Lock()
	s.sessions[ak] = p
	s.mu.Unlock()
	return p
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// services maps SigV4 signing names to protocols.
var services = map[string]protocol{
	"sts": protoQuery, "iam": protoQuery, "ec2": protoEC2, "s3": protoRESTXML,
	"dynamodb": protoJSON10, "cloudtrail": protoJSON11, "organizations": protoJSON11, "servicecatalog": protoJSON11, "kms": protoJSON11,
	"macie2": protoRESTJSON, "serverlessrepo": protoRESTJSON, "securityhub": protoRESTJSON, "account": protoRESTJSON,
}

// globalServices are not bound to a region (no opt-in check).
var globalServices = map[string]bool{"sts": true, "iam": true, "organizations": true, "account": true, "s3": true}

// Call is one request as a handler sees it.
type Call struct {
	S         *Server
	R         *http.Request
	Service   string
	Operation string
	Region    string
	P         *Principal
	Account   *world.Account
	Body      []byte
	// Form holds query-protocol parameters; Params REST path parameters.
	Form   url.Values
	Params map[string]string
	proto  protocol
	reqID  string
}

type handler func(c *Call) (any, error)

type opKey struct{ service, op string }

var handlers = map[opKey]handler{}

func register(service, op string, h handler) { handlers[opKey{service, op}] = h }

// Operations lists every implemented service operation, for tests.
func Operations() []string {
	var out []string
	for k := range handlers {
		out = append(out, k.service+":"+k.op)
	}
	return out
}

// ServeHTTP handles one AWS API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.admin(w, r)
		return
	}
	c := &Call{S: s, R: r, reqID: strings.ToUpper(randHex(8)) + "-SIM"}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	c.Body = body
	auth, err := parseAuth(r.Header.Get("Authorization"))
	if err != nil {
		c.proto = protoQuery
		if p, ok := services[serviceFromHost(r)]; ok {
			c.proto = p
		}
		c.writeError(w, &APIError{Code: "MissingAuthenticationToken", Message: "request is not SigV4-signed: " + err.Error(), Status: 403})
		return
	}
	c.Service, c.Region = auth.Service, auth.Region
	p, known := services[c.Service]
	if !known {
		c.proto = protoJSON11
		c.writeError(w, &APIError{Code: "UnknownService", Message: "the simulator does not implement service " + c.Service, Status: 400})
		return
	}
	c.proto = p
	if p == protoRESTXML && strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		if c.Body, err = decodeAWSChunked(c.Body); err != nil {
			c.writeError(w, &APIError{Code: "IncompleteBody", Message: err.Error(), Status: 400})
			return
		}
	}
	if err := c.resolveOperation(); err != nil {
		c.writeError(w, err)
		return
	}
	principal, ok := s.principal(auth.AccessKey)
	if !ok {
		c.writeError(w, invalidKey(p))
		return
	}
	if !s.opts.SkipSignatureCheck {
		payload := r.Header.Get("X-Amz-Content-Sha256")
		if payload == "" {
			sum := sha256.Sum256(body)
			payload = hex.EncodeToString(sum[:])
		}
		if !auth.verify(r, principal.Secret, payload) {
			c.writeError(w, &APIError{Code: "SignatureDoesNotMatch", Message: "The request signature we calculated does not match the signature you provided.", Status: 403})
			return
		}
	}
	if principal.Token != "" && r.Header.Get("X-Amz-Security-Token") != principal.Token {
		c.writeError(w, &APIError{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid.", Status: 403})
		return
	}
	if !principal.Expires.IsZero() && s.now().After(principal.Expires) {
		code := "ExpiredToken"
		if p == protoJSON10 || p == protoJSON11 || p == protoRESTJSON {
			code = "ExpiredTokenException"
		}
		c.writeError(w, &APIError{Code: code, Message: "The security token included in the request is expired", Status: 400})
		return
	}
	c.P = principal
	acct, _ := s.w.Account(principal.AccountID)
	c.Account = acct
	s.count(CountKey{c.Service, c.Operation, principal.AccountID, c.Region})

	if err := s.injectFaults(c); err != nil {
		c.writeError(w, err)
		return
	}
	if !globalServices[c.Service] && !s.w.RegionEnabled(acct, c.Region) {
		c.writeError(w, &APIError{Code: "OptInRequired", Message: fmt.Sprintf("The region %s is not enabled for account %s.", c.Region, principal.AccountID), Status: 403})
		return
	}
	h, ok := handlers[opKey{c.Service, c.Operation}]
	if !ok {
		c.writeError(w, &APIError{Code: "InvalidAction", Message: fmt.Sprintf("The simulator does not implement %s:%s.", c.Service, c.Operation), Status: 400})
		return
	}
	out, err := h(c)
	if err != nil {
		c.writeError(w, err)
		return
	}
	c.writeResult(w, out)
}

// serviceFromHost guesses the service of an unsigned request from nothing
// better than its path (unsigned requests only need an error's shape).
func serviceFromHost(r *http.Request) string {
	if r.Header.Get("X-Amz-Target") != "" {
		return "organizations"
	}
	return "sts"
}

func invalidKey(p protocol) *APIError {
	switch p {
	case protoRESTXML:
		return &APIError{Code: "InvalidAccessKeyId", Message: "The AWS Access Key Id you provided does not exist in our records.", Status: 403}
	case protoJSON10, protoJSON11, protoRESTJSON:
		return &APIError{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid.", Status: 400}
	case protoEC2:
		return &APIError{Code: "AuthFailure", Message: "AWS was not able to validate the provided access credentials", Status: 401}
	}
	return &APIError{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid.", Status: 403}
}

// decodeAWSChunked strips aws-chunked framing: "<hex size>[;chunk-signature=...]\r\n<data>\r\n" ... "0\r\n<trailers>\r\n\r\n".
func decodeAWSChunked(b []byte) ([]byte, error) {
	var out bytes.Buffer
	for {
		line, rest, ok := bytes.Cut(b, []byte("\r\n"))
		if !ok {
			return nil, errors.New("aws-chunked body: missing chunk header")
		}
		sizeHex, _, _ := bytes.Cut(line, []byte(";"))
		var n int
		if _, err := fmt.Sscanf(string(sizeHex), "%x", &n); err != nil {
			return nil, fmt.Errorf("aws-chunked body: bad chunk size %q", sizeHex)
		}
		if n == 0 {
			return out.Bytes(), nil
		}
		if len(rest) < n+2 {
			return nil, errors.New("aws-chunked body: truncated chunk")
		}
		out.Write(rest[:n])
		b = rest[n+2:]
	}
}
