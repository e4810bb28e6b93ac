package tests

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/dpsweep/dpsweep/awssim/world"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/platform/tlsutil"
	"github.com/dpsweep/dpsweep/services/redaction"
)

// exampleClient is one of the clients under examples/, run as a subprocess.
type exampleClient struct {
	name string
	// argv runs the client; flags are appended.
	argv []string
}

// clientLine is one JSON line of a client's output (the union of every kind).
type clientLine struct {
	RPC           string         `json:"rpc"`
	RedactedText  string         `json:"redacted_text"`
	EntityTypes   []string       `json:"entity_types"`
	Controls      int            `json:"controls"`
	IDs           []string       `json:"ids"`
	Pages         int            `json:"pages"`
	SweepID       string         `json:"sweep_id"`
	State         string         `json:"state"`
	WorkflowID    string         `json:"workflow_id"`
	AccountsTotal int64          `json:"accounts_total"`
	AccountsDone  int64          `json:"accounts_done"`
	Findings      int64          `json:"findings"`
	TotalSize     int64          `json:"total_size"`
	ByStatus      map[string]int `json:"by_status"`
	ReportURIs    []string       `json:"report_uris"`
}

// requireOrSkip fails the test when DPSWEEP_TEMPORAL_REQUIRED is set (as
// `make test` does) and skips it otherwise.
func requireOrSkip(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("DPSWEEP_TEMPORAL_REQUIRED") != "" {
		t.Fatalf("%s (DPSWEEP_TEMPORAL_REQUIRED is set)", msg)
	}
	t.Skip(msg + " (set DPSWEEP_TEMPORAL_REQUIRED=1 to fail instead)")
}

// exampleClients finds the Node and Python clients and what they need, or
// fails or skips saying how to install it.
func exampleClients(t *testing.T) (root string, clients []exampleClient) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ".cache", "proto", "protovalidate", "buf", "validate", "validate.proto")); err != nil {
		requireOrSkip(t, "the clients need protovalidate's validate.proto: %v (run `make tools`)", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		requireOrSkip(t, "no node on PATH: %v (install Node.js 18.11 or later with npm; .ci/run does)", err)
	}
	if _, err := os.Stat(filepath.Join(root, "examples", "node", "node_modules", "@grpc", "grpc-js")); err != nil {
		requireOrSkip(t, "the Node client's packages are not installed: %v (run scripts/install-clients.sh, which runs `npm ci` in examples/node)", err)
	}
	// Debian's python3-grpcio lives with Debian's interpreter, not with
	// whatever python3 comes first on PATH.
	python := cmp.Or(os.Getenv("DPSWEEP_TEST_PYTHON"), "/usr/bin/python3")
	if out, err := exec.Command(python, "-c", "import grpc, grpc_tools.protoc, google.protobuf").CombinedOutput(); err != nil {
		requireOrSkip(t, "%s cannot import grpc, grpc_tools and google.protobuf: %v %s (apt-get install python3-grpcio python3-grpc-tools; .ci/run does)",
			python, err, bytes.TrimSpace(out))
	}
	return root, []exampleClient{
		{"node", []string{node, filepath.Join(root, "examples", "node", "client.js")}},
		{"python", []string{python, filepath.Join(root, "examples", "python", "client.py")}},
	}
}

// runClient runs a client with flags and returns its JSON lines by RPC
// (the last of each), every GetSweep line, and its stderr.
func runClient(ctx context.Context, t *testing.T, c exampleClient, flags ...string) (map[string]clientLine, []clientLine, string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, c.argv[0], append(slices.Clone(c.argv[1:]), flags...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	begin := time.Now()
	err := cmd.Run()
	t.Logf("%s client ran %v", c.name, time.Since(begin).Round(time.Millisecond))
	last := map[string]clientLine{}
	var polls []clientLine
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l clientLine
		if jerr := json.Unmarshal(sc.Bytes(), &l); jerr != nil {
			t.Fatalf("%s client printed a line that is not JSON: %q: %v", c.name, sc.Text(), jerr)
		}
		last[l.RPC] = l
		if l.RPC == "GetSweep" {
			polls = append(polls, l)
		}
	}
	return last, polls, stderr.String(), err
}

// serveRedactionTLS serves the RedactionService alone on 127.0.0.1 with
// TLS, mutual when files.ClientCAFile is set, and returns its address.
func serveRedactionTLS(t *testing.T, files tlsutil.ServerFiles) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Addr: lis.Addr().String(), LogFormat: "json", LogLevel: "info", TLS: files,
		MaxRecvMsgBytes: server.DefaultMaxRecvMsgBytes, MaxSendMsgBytes: server.DefaultMaxSendMsgBytes, ShutdownTimeout: 5 * time.Second}
	rcfg := redaction.DefaultConfig()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.ServeListener(ctx, lis, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), rcfg.Register)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return lis.Addr().String()
}

// randomAccessKeyID is a fresh AKIA key ID: a canary no output may hold.
func randomAccessKeyID(t *testing.T) string {
	t.Helper()
	const base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = base32[int(b[i])%len(base32)]
	}
	return "AKIA" + string(b)
}

// TestClients runs the Node client (examples/node, @grpc/grpc-js) and the
// Python client (examples/python, Debian's python3-grpcio), each built from
// the files in proto/ alone, against the services on real listeners with a
// real Temporal server and a simulated organization: Redact must scrub a
// canary access key to its type tag, ListControls must page through the
// catalogue the Go client sees, the sweep each starts must complete, and
// ListFindings must page through as many findings as the Go client reads.
// Without node_modules or the Debian packages it skips, saying how to
// install them; with DPSWEEP_TEMPORAL_REQUIRED=1 it fails instead.
func TestClients(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Temporal server, Node and Python; skipped with -short")
	}
	t.Parallel()
	root, clients := exampleClients(t)
	common := []string{"--proto-dir", filepath.Join(root, "proto"),
		"--validate-proto-dir", filepath.Join(root, ".cache", "proto", "protovalidate")}

	t.Run("unreachable", func(t *testing.T) {
		// A service that is not there: a clear error naming the call and a non-zero exit.
		for _, c := range clients {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_, _, stderr, err := runClient(ctx, t, c, append(slices.Clone(common), "--redaction-addr", "127.0.0.1:1", "--rpc-timeout", "5")...)
			cancel()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Errorf("%s client against a closed port: %v; want exit status 1", c.name, err)
			}
			if !strings.Contains(stderr, "Redact at 127.0.0.1:1: UNAVAILABLE") {
				t.Errorf("%s client's error %q does not name the call, the address and UNAVAILABLE", c.name, stderr)
			}
		}
	})

	t.Run("mutual TLS", func(t *testing.T) {
		// Redact alone, against a RedactionService that requires client certificates.
		certs, err := tlsutil.WriteDevCerts(t.TempDir(), "client")
		if err != nil {
			t.Fatal(err)
		}
		addr := serveRedactionTLS(t, tlsutil.ServerFiles{CertFile: certs.ServerCertFile, KeyFile: certs.ServerKeyFile, ClientCAFile: certs.CAFile})
		tlsFlags := append(slices.Clone(common), "--calls", "redact", "--redaction-addr", addr, "--rpc-timeout", "10")
		for _, c := range clients {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			canary := randomAccessKeyID(t)
			out, _, stderr, err := runClient(ctx, t, c, append(slices.Clone(tlsFlags), "--text", "key "+canary,
				"--tls-ca", certs.CAFile, "--tls-cert", certs.ClientCertFile, "--tls-key", certs.ClientKeyFile)...)
			if err != nil {
				t.Errorf("%s client over mutual TLS: %v\nstderr:\n%s", c.name, err, stderr)
			} else if red, ok := out["Redact"]; !ok || red.RedactedText != "key [AWS_ACCESS_KEY_ID]" || len(out) != 1 {
				t.Errorf("%s client over mutual TLS printed %v; want only Redact's \"key [AWS_ACCESS_KEY_ID]\"", c.name, out)
			}
			// Without a client certificate, and in plaintext, the server refuses the call.
			for name, extra := range map[string][]string{"without a client certificate": {"--tls-ca", certs.CAFile}, "in plaintext": nil} {
				out, _, stderr, err := runClient(ctx, t, c, append(slices.Clone(tlsFlags), extra...)...)
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 1 || len(out) != 0 || !strings.Contains(stderr, "Redact at "+addr+": ") {
					t.Errorf("%s client %s: %v, output %v, stderr %q; want exit status 1 and an error naming Redact and %s", c.name, name, err, out, stderr, addr)
				}
			}
			cancel()
		}
	})

	o := world.DefaultGenOptions()
	o.Accounts, o.Seed, o.ViolationRate, o.PlantRate = 6, 23, 0.35, 0.3
	s := startStack(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	// What the Go client sees of the catalogue.
	conn, err := grpc.NewClient(s.addrs["evaluation"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	eval := evaluationv1.NewEvaluationServiceClient(conn)
	var controls []string
	for req := (&evaluationv1.ListControlsRequest{PageSize: 1000}); ; {
		resp, err := eval.ListControls(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.GetControls() {
			controls = append(controls, c.GetId())
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	if len(controls) < 10 {
		t.Fatalf("the Go client sees %d controls", len(controls))
	}
	slices.Sort(controls)

	const pageSize = 7 // small, so that both lists take several pages
	regions := []string{"eu-west-1", "us-east-1"}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			canary := randomAccessKeyID(t)
			sweepID := "clients-" + c.name
			flags := append(slices.Clone(common),
				"--redaction-addr", s.addrs["redaction"], "--evaluation-addr", s.addrs["evaluation"],
				"--sweep-addr", s.addrs["sweep"], "--reporting-addr", s.addrs["reporting"],
				"--text", "rotate "+canary+" for ops@example.org", "--sweep-id", sweepID,
				"--region", regions[0], "--region", regions[1], "--role-name", o.RoleName,
				"--page-size", fmt.Sprint(pageSize), "--include-suppressed", "--poll-interval", "0.3", "--sweep-timeout", "300")
			out, polls, stderr, err := runClient(ctx, t, c, flags...)
			if err != nil {
				t.Fatalf("%s client: %v\nstderr:\n%s", c.name, err, stderr)
			}
			for _, rpc := range []string{"Redact", "ListControls", "StartSweep", "GetSweep", "ListFindings"} {
				if _, ok := out[rpc]; !ok {
					t.Fatalf("%s client printed no %s line; stderr:\n%s", c.name, rpc, stderr)
				}
			}

			red := out["Redact"]
			if strings.Contains(red.RedactedText, canary) || strings.Contains(red.RedactedText, "ops@example.org") {
				t.Errorf("Redact output %q holds the planted values", red.RedactedText)
			}
			if !strings.Contains(red.RedactedText, "[AWS_ACCESS_KEY_ID]") || !slices.Contains(red.EntityTypes, "AWS_ACCESS_KEY_ID") {
				t.Errorf("Redact output %q, entity types %v; want the [AWS_ACCESS_KEY_ID] tag", red.RedactedText, red.EntityTypes)
			}

			lc := out["ListControls"]
			got := slices.Sorted(slices.Values(lc.IDs))
			if lc.Controls != len(controls) || !slices.Equal(got, controls) {
				t.Errorf("ListControls: %d controls %v; the Go client sees %d: %v", lc.Controls, got, len(controls), controls)
			}
			if want := (len(controls) + pageSize - 1) / pageSize; lc.Pages != want {
				t.Errorf("ListControls took %d pages of %d; want %d", lc.Pages, pageSize, want)
			}

			if st := out["StartSweep"]; st.SweepID != sweepID || st.WorkflowID != "sweep/"+sweepID {
				t.Errorf("StartSweep printed %+v", st)
			}
			final := out["GetSweep"]
			if final.State != "SWEEP_STATE_COMPLETED" || final.AccountsDone != int64(o.Accounts) || final.AccountsTotal != int64(o.Accounts) {
				t.Fatalf("the sweep ended %+v; want COMPLETED with %d accounts done", final, o.Accounts)
			}
			sw := s.wait(ctx, t, sweepID, nil)
			if sw.GetState() != sweepv1.SweepState_SWEEP_STATE_COMPLETED || sw.GetProgress().GetCounts().GetFindings() != final.Findings {
				t.Errorf("the Go client sees sweep %s %s with %d findings; the %s client saw %s with %d",
					sweepID, sw.GetState(), sw.GetProgress().GetCounts().GetFindings(), c.name, final.State, final.Findings)
			}

			lf := out["ListFindings"]
			goFindings := s.findings(ctx, t, sweepID)
			if lf.SweepID != sweepID || lf.Findings != int64(len(goFindings)) || lf.TotalSize != lf.Findings {
				t.Errorf("ListFindings: %+v; the Go client reads %d findings", lf, len(goFindings))
			}
			if len(goFindings) <= pageSize || lf.Pages != (len(goFindings)+pageSize-1)/pageSize {
				t.Errorf("ListFindings: %d findings in %d pages of %d; want several pages", len(goFindings), lf.Pages, pageSize)
			}
			if lf.ByStatus["FINDING_STATUS_FAIL"] == 0 {
				t.Errorf("ListFindings by status %v: no failing findings in a world with violations", lf.ByStatus)
			}
			if strings.Contains(stderr, canary) {
				t.Errorf("the %s client's stderr holds the canary", c.name)
			}

			// A request the API's rules refuse: the server's INVALID_ARGUMENT, naming the field, on stderr.
			_, _, stderr, err = runClient(ctx, t, c, append(slices.Clone(flags), "--sweep-id", "not a valid id")...)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 ||
				!strings.Contains(stderr, "StartSweep at "+s.addrs["sweep"]+": INVALID_ARGUMENT") || !strings.Contains(stderr, "sweep_id") {
				t.Errorf("%s client with an invalid sweep ID: %v, stderr %q; want exit status 1 and INVALID_ARGUMENT naming sweep_id", c.name, err, stderr)
			}
			t.Logf("Redact: %q; ListControls: %d in %d pages; %d GetSweep lines, the last %s with %d findings; ListFindings: %d in %d pages %v",
				red.RedactedText, lc.Controls, lc.Pages, len(polls), final.State, final.Findings, lf.Findings, lf.Pages, lf.ByStatus)
		})
	}
}
