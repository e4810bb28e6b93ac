package codec

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const (
	uiOrigin  = "http://localhost:8233"
	testToken = "s3cr3t-codec-token"
)

type codecServer struct {
	url   string
	keys  []Key
	codec *Codec
}

// startServer serves NewServer on a real 127.0.0.1 listener.
func startServer(t *testing.T, opts ServerOptions) codecServer {
	t.Helper()
	keys := []Key{newKey(t, "k1")}
	h, err := NewServer(keys, opts)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("server listens on %s, want 127.0.0.1", srv.URL)
	}
	return codecServer{url: srv.URL, keys: keys, codec: newCodec(t, keys...)}
}

// post sends payloads as the UI does: POST {"payloads": [...]} in JSON.
func post(t *testing.T, url string, payloads []*commonpb.Payload, header http.Header) (*http.Response, []byte) {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

func decodeResponse(t *testing.T, body []byte) []*commonpb.Payload {
	t.Helper()
	var out commonpb.Payloads
	if err := protojson.Unmarshal(body, &out); err != nil {
		t.Fatalf("response %q: %v", body, err)
	}
	return out.GetPayloads()
}

func TestServerDecode(t *testing.T) {
	s := startServer(t, ServerOptions{AllowOrigin: uiOrigin, Token: testToken})
	plain := []*commonpb.Payload{jsonPayload(t, "owner "+canaryEmail), jsonPayload(t, map[string]int{"n": 1})}
	enc, err := s.codec.Encode(plain)
	if err != nil {
		t.Fatal(err)
	}
	// An unencrypted payload from an old history rides along unchanged.
	enc = append(enc, plain[1])

	for _, path := range []string{"/decode", "/default/decode"} {
		t.Run(path, func(t *testing.T) {
			h := bearer(testToken)
			h.Set("Origin", uiOrigin)
			resp, body := post(t, s.url+path, enc, h)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			got := decodeResponse(t, body)
			want := append(append([]*commonpb.Payload{}, plain...), plain[1])
			if len(got) != len(want) {
				t.Fatalf("%d payloads back, want %d", len(got), len(want))
			}
			for i := range want {
				if !proto.Equal(got[i], want[i]) {
					t.Errorf("payload %d = %v, want %v", i, got[i], want[i])
				}
			}
			for k, v := range map[string]string{
				"Access-Control-Allow-Origin":      uiOrigin,
				"Access-Control-Allow-Credentials": "true",
				"Cache-Control":                    "no-store",
				"Content-Type":                     "application/json",
			} {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestServerDecodeWithSDKRemoteCodec(t *testing.T) {
	// The SDK's own client of the codec server protocol, as the CLI uses it
	// with --codec-endpoint and --codec-auth.
	s := startServer(t, ServerOptions{Token: testToken})
	enc, err := s.codec.Encode([]*commonpb.Payload{jsonPayload(t, canaryAccessKey)})
	if err != nil {
		t.Fatal(err)
	}
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: s.url,
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+testToken)
			return nil
		},
	})
	dec, err := remote.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &v); err != nil || v != canaryAccessKey {
		t.Fatalf("decoded %q, %v", v, err)
	}
	// Without the token the same client is refused.
	anon := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{Endpoint: s.url})
	if _, err := anon.Decode(enc); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("decode without token: %v", err)
	}
}

func TestServerToken(t *testing.T) {
	s := startServer(t, ServerOptions{AllowOrigin: uiOrigin, Token: testToken})
	enc, err := s.codec.Encode([]*commonpb.Payload{jsonPayload(t, canaryEmail)})
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]http.Header{
		"no header":       {},
		"wrong token":     bearer("s3cr3t-codec-tokeN"),
		"token prefix":    bearer(testToken[:len(testToken)-1]),
		"token plus more": bearer(testToken + "x"),
		"basic scheme":    {"Authorization": {"Basic " + testToken}},
		"bare token":      {"Authorization": {testToken}},
		"empty bearer":    {"Authorization": {"Bearer "}},
	} {
		t.Run(name, func(t *testing.T) {
			h.Set("Origin", uiOrigin)
			resp, body := post(t, s.url+"/decode", enc, h)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", resp.StatusCode, body)
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
			// The UI may read the refusal (CORS headers), but nothing decoded.
			if resp.Header.Get("Access-Control-Allow-Origin") != uiOrigin {
				t.Error("401 without CORS headers: the UI cannot tell why")
			}
			if bytes.Contains(body, []byte(canaryEmail)) {
				t.Error("401 body holds plaintext")
			}
		})
	}
	// The scheme is case-insensitive.
	resp, body := post(t, s.url+"/decode", enc, http.Header{"Authorization": {"bearer " + testToken}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("lower-case scheme: %d %s", resp.StatusCode, body)
	}
}

func TestServerWithoutToken(t *testing.T) {
	s := startServer(t, ServerOptions{})
	enc, err := s.codec.Encode([]*commonpb.Payload{jsonPayload(t, "x")})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := post(t, s.url+"/decode", enc, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	// No AllowOrigin: no browser may call it, even without a token.
	resp, _ = post(t, s.url+"/decode", enc, http.Header{"Origin": {uiOrigin}})
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("browser call without AllowOrigin: %d, ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func preflight(t *testing.T, url, origin string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
	resp, _ := do(t, req)
	return resp
}

func TestServerCORSPreflight(t *testing.T) {
	// The preflight carries no credentials, so it must pass without the token.
	s := startServer(t, ServerOptions{AllowOrigin: uiOrigin, Token: testToken})

	resp := preflight(t, s.url+"/decode", uiOrigin)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("allowed origin: status %d", resp.StatusCode)
	}
	for k, v := range map[string]string{
		"Access-Control-Allow-Origin":      uiOrigin,
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Headers":     "Content-Type,X-Namespace,Authorization",
		"Access-Control-Allow-Methods":     "POST",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Origin") {
		t.Errorf("Vary = %q, want Origin", resp.Header.Get("Vary"))
	}

	for _, other := range []string{"https://evil.example", "http://localhost:8234", "http://127.0.0.1:8233", "null"} {
		resp := preflight(t, s.url+"/decode", other)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %s: status %d, want 403", other, resp.StatusCode)
		}
		for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers"} {
			if v := resp.Header.Get(h); v != "" {
				t.Errorf("origin %s: %s = %q", other, h, v)
			}
		}
	}

	// A page from another origin gets nothing even with the token.
	enc, err := s.codec.Encode([]*commonpb.Payload{jsonPayload(t, canaryEmail)})
	if err != nil {
		t.Fatal(err)
	}
	h := bearer(testToken)
	h.Set("Origin", "https://evil.example")
	resp, body := post(t, s.url+"/decode", enc, h)
	if resp.StatusCode != http.StatusForbidden || bytes.Contains(body, []byte(canaryEmail)) {
		t.Fatalf("other origin with token: %d %s", resp.StatusCode, body)
	}

	// Chrome's private network access preflight is answered for the UI.
	req, _ := http.NewRequest(http.MethodOptions, s.url+"/decode", nil)
	req.Header.Set("Origin", uiOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Private-Network", "true")
	resp, _ = do(t, req)
	if resp.Header.Get("Access-Control-Allow-Private-Network") != "true" {
		t.Error("private network preflight not answered")
	}
}

func TestServerEncode(t *testing.T) {
	plain := []*commonpb.Payload{jsonPayload(t, "input "+canaryAccessKey)}

	t.Run("refused by default", func(t *testing.T) {
		s := startServer(t, ServerOptions{AllowOrigin: uiOrigin, Token: testToken})
		resp, body := post(t, s.url+"/encode", plain, bearer(testToken))
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403: %s", resp.StatusCode, body)
		}
		if !strings.Contains(string(body), "encode is disabled") {
			t.Errorf("body = %q", body)
		}
		// The token is checked first: no hint about encode without it.
		resp, _ = post(t, s.url+"/default/encode", plain, nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("without token: status %d, want 401", resp.StatusCode)
		}
	})

	t.Run("enabled", func(t *testing.T) {
		s := startServer(t, ServerOptions{Token: testToken, AllowEncode: true})
		resp, body := post(t, s.url+"/encode", plain, bearer(testToken))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if bytes.Contains(body, []byte(canaryAccessKey)) {
			t.Fatal("encode response holds the plaintext")
		}
		enc := decodeResponse(t, body)
		assertEncrypted(t, enc[0], "k1")
		dec, err := s.codec.Decode(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(dec[0], plain[0]) {
			t.Fatalf("round trip = %v", dec[0])
		}
	})
}

func TestServerErrors(t *testing.T) {
	s := startServer(t, ServerOptions{Token: testToken, MaxRequestBytes: 4 << 10})
	enc, err := s.codec.Encode([]*commonpb.Payload{jsonPayload(t, canaryEmail)})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("tampered payload", func(t *testing.T) {
		bad := proto.Clone(enc[0]).(*commonpb.Payload)
		bad.Data[20] ^= 1
		resp, body := post(t, s.url+"/decode", []*commonpb.Payload{bad}, bearer(testToken))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"k1"`) {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		other, err := newCodec(t, newKey(t, "elsewhere")).Encode([]*commonpb.Payload{jsonPayload(t, "x")})
		if err != nil {
			t.Fatal(err)
		}
		resp, body := post(t, s.url+"/decode", other, bearer(testToken))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"elsewhere"`) {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})
	t.Run("body too large", func(t *testing.T) {
		big := []*commonpb.Payload{{Data: bytes.Repeat([]byte("a"), 8<<10)}}
		resp, body := post(t, s.url+"/decode", big, bearer(testToken))
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})
	t.Run("GET", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.url+"/decode", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		if resp, _ := do(t, req); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("unknown path", func(t *testing.T) {
		if resp, _ := post(t, s.url+"/download", enc, bearer(testToken)); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestNewServerRejects(t *testing.T) {
	keys := []Key{newKey(t, "k1")}
	for name, opts := range map[string]ServerOptions{
		"wildcard origin":  {AllowOrigin: "*"},
		"trailing slash":   {AllowOrigin: "http://localhost:8233/"},
		"path":             {AllowOrigin: "https://ui.example/temporal"},
		"no scheme":        {AllowOrigin: "localhost:8233"},
		"ftp":              {AllowOrigin: "ftp://ui.example"},
		"token with space": {Token: "two words"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewServer(keys, opts); err == nil {
				t.Fatal("accepted")
			} else {
				t.Log(err)
			}
		})
	}
	if _, err := NewServer(nil, ServerOptions{}); err == nil {
		t.Fatal("accepted an empty keyring")
	}
	if _, err := NewServer(keys, ServerOptions{AllowOrigin: "https://cloud.temporal.io"}); err != nil {
		t.Fatal(err)
	}
}
