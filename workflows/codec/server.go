package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.temporal.io/sdk/converter"
)

// DefaultMaxRequestBytes bounds a codec server request body unless
// ServerOptions.MaxRequestBytes says otherwise.
const DefaultMaxRequestBytes = 8 << 20

// CORS headers the Temporal UI needs: it POSTs JSON from the browser, names
// the namespace in X-Namespace, may send "Authorization: Bearer" (its access
// token) and, with "include cross-origin credentials", cookies.
const (
	corsAllowHeaders = "Content-Type,X-Namespace,Authorization"
	corsAllowMethods = "POST"
	corsMaxAge       = "600"
)

// ServerOptions configure [NewServer].
type ServerOptions struct {
	// AllowOrigin is the origin of the Temporal UI that may call the codec
	// server from a browser, exactly as the browser shows it: scheme, host
	// and port, no path and no trailing slash (for the development server,
	// "http://localhost:8233"). Credentials are allowed, so "*" is refused.
	// Empty: no browser may call it; the CLI, which sends no Origin, still can.
	AllowOrigin string
	// Token, when set, is required as "Authorization: Bearer <Token>" on
	// /decode and /encode (compared in constant time); other requests get
	// 401. CORS preflights carry no credentials and do not need it.
	Token string
	// AllowEncode turns /encode on. Off, the server only decodes: /encode
	// answers 403.
	AllowEncode bool
	// MaxRequestBytes bounds a request body; 0 means DefaultMaxRequestBytes.
	MaxRequestBytes int64
}

type server struct {
	origin      string
	tokenHash   *[sha256.Size]byte
	allowEncode bool
	maxBytes    int64
	next        http.Handler
}

// NewServer returns the HTTP handler of a codec server over keys, for the
// Temporal UI and CLI (see the package documentation for pointing them at
// it). It serves POST .../decode and, with AllowEncode, POST .../encode
// through the SDK's [converter.NewPayloadCodecHTTPHandler] (so
// /{namespace}/decode works too), answers CORS preflights from AllowOrigin,
// and refuses requests from any other browser origin.
func NewServer(keys []Key, opts ServerOptions) (http.Handler, error) {
	c, err := NewCodec(keys)
	if err != nil {
		return nil, err
	}
	if err := checkOrigin(opts.AllowOrigin); err != nil {
		return nil, err
	}
	s := &server{
		origin:      opts.AllowOrigin,
		allowEncode: opts.AllowEncode,
		maxBytes:    opts.MaxRequestBytes,
		next:        converter.NewPayloadCodecHTTPHandler(c),
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxRequestBytes
	}
	if opts.Token != "" {
		if strings.ContainsAny(opts.Token, " \t\r\n") {
			return nil, fmt.Errorf("codec server: the token must not contain white space")
		}
		h := sha256.Sum256([]byte(opts.Token))
		s.tokenHash = &h
	}
	return s, nil
}

// checkOrigin accepts "" or a bare scheme://host[:port].
func checkOrigin(origin string) error {
	if origin == "" {
		return nil
	}
	if origin == "*" {
		return fmt.Errorf("codec server: allowed origin %q: the Temporal UI sends credentials, which browsers refuse with a wildcard origin; give the UI's origin, such as http://localhost:8233", origin)
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("codec server: allowed origin %q is not an http(s)://host[:port] origin", origin)
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(origin, "?") || strings.HasSuffix(origin, "#") {
		return fmt.Errorf("codec server: allowed origin %q has a path, query or trailing slash; browsers send the bare origin, so use %s://%s", origin, u.Scheme, u.Host)
	}
	return nil
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if s.origin != "" {
		h.Add("Vary", "Origin")
	}
	// A browser names the page's origin; the CLI sends none. A page from
	// any origin but the UI's is turned away before anything else, without
	// CORS headers, so the browser does not let it read even the refusal.
	origin := r.Header.Get("Origin")
	if origin != "" {
		if origin != s.origin {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}

	if r.Method == http.MethodOptions {
		if origin == "" || r.Header.Get("Access-Control-Request-Method") == "" {
			h.Set("Allow", "POST, OPTIONS")
			http.Error(w, "not a CORS preflight", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Access-Control-Allow-Methods", corsAllowMethods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
		// Chrome asks before a public page (cloud.temporal.io) may call a
		// server on a private address or loopback.
		if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
			h.Set("Access-Control-Allow-Private-Network", "true")
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}

	if r.Method != http.MethodPost {
		h.Set("Allow", "POST, OPTIONS")
		http.Error(w, "method not allowed: POST /decode", http.StatusMethodNotAllowed)
		return
	}
	encode := strings.HasSuffix(r.URL.Path, "/encode")
	if !encode && !strings.HasSuffix(r.URL.Path, "/decode") {
		http.NotFound(w, r)
		return
	}
	if s.tokenHash != nil && !s.authorized(r) {
		h.Set("WWW-Authenticate", `Bearer realm="dpsweep temporal codec"`)
		http.Error(w, "unauthorized: send Authorization: Bearer <token>", http.StatusUnauthorized)
		return
	}
	if encode && !s.allowEncode {
		http.Error(w, "encode is disabled on this codec server; it only decodes", http.StatusForbidden)
		return
	}

	r.Body = http.MaxBytesReader(w, r.Body, s.maxBytes)
	// Decoded payloads are plain text: keep them out of caches.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	s.next.ServeHTTP(w, r)
}

// authorized compares the bearer token in constant time: hashing both sides
// first hides the expected token's length too.
func (s *server) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) == 1
}
