package devserver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dpsweep/dpsweep/workflows/devserver"
)

// EnvRequired makes the tests fail, rather than skip, when no Temporal CLI
// binary is installed (`make test` sets it after installing one).
const EnvRequired = "DPSWEEP_TEMPORAL_REQUIRED"

// sweepAttributes are the search attributes a sweep's workflows carry.
var sweepAttributes = map[string]string{
	"DpsweepSweepId":   "Keyword",
	"DpsweepAccountId": "Keyword",
	"DpsweepStatus":    "Keyword",
}

// binary returns the Temporal CLI, skipping (or failing, under
// DPSWEEP_TEMPORAL_REQUIRED) when there is none.
func binary(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipping: starts a Temporal server (-short)")
	}
	bin, err := devserver.FindBinary()
	if err != nil {
		if os.Getenv(EnvRequired) != "" {
			tb.Fatalf("%v (and $%s is set)", err, EnvRequired)
		}
		tb.Skipf("skipping: %v; set $%s to make this a failure", err, EnvRequired)
	}
	return bin
}

// start runs a dev server for the test and stops it when the test ends.
func start(tb testing.TB, opts devserver.Options) *devserver.Server {
	tb.Helper()
	opts.Binary = binary(tb)
	if opts.LogFile == "" {
		opts.LogFile = filepath.Join(tb.TempDir(), "temporal.log")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := devserver.Start(ctx, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Error(err)
		}
		if tb.Failed() {
			tb.Logf("last lines of the server's log:\n%s", s.LogTail())
		}
	})
	return s
}

func dial(tb testing.TB, s *devserver.Server) client.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := s.Dial(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// Greet is the trivial workflow: one activity, its result returned.
func Greet(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	var out string
	err := workflow.ExecuteActivity(ctx, Hello, name).Get(ctx, &out)
	return out, err
}

func Hello(_ context.Context, name string) (string, error) { return "hello " + name, nil }

// runWorker starts a worker with Greet and Hello on a fresh task queue.
func runWorker(tb testing.TB, c client.Client, taskQueue string) {
	tb.Helper()
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(Greet)
	w.RegisterActivity(Hello)
	if err := w.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(w.Stop)
}

func greet(ctx context.Context, c client.Client, taskQueue, id, name string, sa temporal.SearchAttributes) (string, error) {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: taskQueue, TypedSearchAttributes: sa,
	}, Greet, name)
	if err != nil {
		return "", err
	}
	var out string
	err = run.Get(ctx, &out)
	return out, err
}

func TestServer(t *testing.T) {
	begin := time.Now()
	s := start(t, devserver.Options{UI: true, SearchAttributes: sweepAttributes})
	t.Logf("in-memory server with UI ready in %v on %s, UI %s", time.Since(begin).Round(time.Millisecond), s.HostPort(), s.UIURL())
	if !strings.HasPrefix(s.HostPort(), "127.0.0.1:") || !strings.HasPrefix(s.UIURL(), "http://127.0.0.1:") {
		t.Errorf("server on %s, UI on %s: want 127.0.0.1", s.HostPort(), s.UIURL())
	}
	c := dial(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("workflow", func(t *testing.T) {
		runWorker(t, c, "devserver-test")
		sweepID := temporal.NewSearchAttributeKeyKeyword("DpsweepSweepId")
		out, err := greet(ctx, c, "devserver-test", "greet-1", "sweep",
			temporal.NewSearchAttributes(sweepID.ValueSet("s-1")))
		if err != nil {
			t.Fatal(err)
		}
		if out != "hello sweep" {
			t.Fatalf("workflow returned %q, want %q", out, "hello sweep")
		}
		// The search attribute is usable in visibility queries.
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: `DpsweepSweepId = "s-1"`})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetCount() == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("workflows with DpsweepSweepId = s-1: %d, want 1", resp.GetCount())
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("search attributes", func(t *testing.T) {
		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace()})
		if err != nil {
			t.Fatal(err)
		}
		for name := range sweepAttributes {
			if got := resp.GetCustomAttributes()[name]; got != enums.INDEXED_VALUE_TYPE_KEYWORD {
				t.Errorf("search attribute %s: %v, want Keyword", name, got)
			}
		}
	})

	t.Run("UI", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.UIURL()+"/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(body)), "<html") {
			t.Fatalf("GET %s/: %s, %d bytes of %s", s.UIURL(), resp.Status, len(body), resp.Header.Get("Content-Type"))
		}
		// The UI's API proxies to the frontend.
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, s.UIURL()+"/api/v1/namespaces/"+s.Namespace(), nil)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), s.Namespace()) {
			t.Fatalf("GET /api/v1/namespaces/%s: %s %.200s", s.Namespace(), resp.Status, body)
		}
	})

	t.Run("stop", func(t *testing.T) {
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.Exited():
		default:
			t.Fatal("Stop returned before the process exited")
		}
		if err := s.Stop(); err != nil {
			t.Fatalf("second Stop: %v", err)
		}
	})
}

// TestRestart runs a workflow on a database file, restarts the server on
// it, and measures how long until a workflow runs again. It also adds a
// search attribute on the restart, which start-dev alone would not do for
// an existing namespace.
func TestRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "temporal.db")
	opts := devserver.Options{DBFile: db, Namespace: "dpsweep", SearchAttributes: sweepAttributes}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	begin := time.Now()
	s1 := start(t, opts)
	ready := time.Since(begin)
	c1 := dial(t, s1)
	runWorker(t, c1, "restart")
	if _, err := greet(ctx, c1, "restart", "before", "before", temporal.SearchAttributes{}); err != nil {
		t.Fatal(err)
	}
	first := time.Since(begin)
	// DefaultFilePragmas: a write-ahead log beside the database.
	if _, err := os.Stat(db + "-wal"); err != nil {
		t.Errorf("no write-ahead log: %v", err)
	}
	if err := s1.Stop(); err != nil {
		t.Fatal(err)
	}

	attrs := map[string]string{"DpsweepRegion": "Keyword"}
	for k, v := range sweepAttributes {
		attrs[k] = v
	}
	opts.SearchAttributes = attrs
	begin = time.Now()
	s2 := start(t, opts)
	ready2 := time.Since(begin)
	c2 := dial(t, s2)
	runWorker(t, c2, "restart")
	out, err := greet(ctx, c2, "restart", "after", "after", temporal.SearchAttributes{})
	if err != nil {
		t.Fatal(err)
	}
	second := time.Since(begin)
	t.Logf("new database: ready in %v, first workflow done %v after Start", ready.Round(time.Millisecond), first.Round(time.Millisecond))
	t.Logf("existing database: ready in %v, first workflow done %v after Start", ready2.Round(time.Millisecond), second.Round(time.Millisecond))
	if out != "hello after" {
		t.Fatalf("workflow returned %q", out)
	}
	// The workflow from before the restart is still there.
	var before string
	if err := c2.GetWorkflow(ctx, "before", "").Get(ctx, &before); err != nil || before != "hello before" {
		t.Fatalf("workflow from before the restart: %q, %v", before, err)
	}
	resp, err := c2.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "dpsweep"})
	if err != nil {
		t.Fatal(err)
	}
	for name := range attrs {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			t.Errorf("search attribute %s missing after restart", name)
		}
	}
	// An embedded server without static hosts waited ~50 s for membership
	// on restart; start-dev must not.
	if second > 30*time.Second {
		t.Errorf("restart on an existing database took %v until a workflow ran", second)
	}

	// A search attribute the database holds with another type is an error,
	// at once rather than at the start timeout.
	if err := s2.Stop(); err != nil {
		t.Fatal(err)
	}
	opts.Binary = binary(t)
	opts.SearchAttributes = map[string]string{"DpsweepStatus": "Int"}
	begin = time.Now()
	s3, err := devserver.Start(ctx, opts)
	if err == nil {
		_ = s3.Stop()
		t.Fatal("Start with DpsweepStatus as Int on a database that has it as Keyword succeeded")
	}
	if !strings.Contains(err.Error(), "DpsweepStatus exists as") || time.Since(begin) > 20*time.Second {
		t.Fatalf("after %v: %v", time.Since(begin), err)
	}
}

func TestMissingBinary(t *testing.T) {
	_, err := devserver.Start(context.Background(), devserver.Options{Binary: filepath.Join(t.TempDir(), "temporal")})
	if !errors.Is(err, devserver.ErrNoBinary) || !strings.Contains(err.Error(), "make temporal") {
		t.Fatalf("Start with a missing binary: %v; want ErrNoBinary saying to run 'make temporal'", err)
	}
	t.Setenv(devserver.EnvBinary, filepath.Join(t.TempDir(), "nope"))
	if _, err := devserver.FindBinary(); !errors.Is(err, devserver.ErrNoBinary) {
		t.Fatalf("FindBinary with $%s naming a missing file: %v", devserver.EnvBinary, err)
	}
	if _, err := devserver.EnsureBinaryTo(context.Background(), io.Discard); !errors.Is(err, devserver.ErrNoBinary) {
		t.Fatalf("EnsureBinary with $%s naming a missing file must not build: %v", devserver.EnvBinary, err)
	}
}

// fakeServer writes a shell script that stands in for the Temporal CLI.
func fakeServer(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "temporal")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartErrorsShowTheLog(t *testing.T) {
	t.Run("exits", func(t *testing.T) {
		bin := fakeServer(t, `echo "Error: unknown flag: --frobnicate" >&2; exit 3`)
		_, err := devserver.Start(context.Background(), devserver.Options{Binary: bin})
		if err == nil || !strings.Contains(err.Error(), "unknown flag: --frobnicate") || !strings.Contains(err.Error(), "exited") {
			t.Fatalf("Start: %v; want the exit and the log's tail", err)
		}
	})
	t.Run("never answers", func(t *testing.T) {
		bin := fakeServer(t, `echo "starting, slowly"; exec sleep 60`)
		begin := time.Now()
		_, err := devserver.Start(context.Background(), devserver.Options{Binary: bin, StartTimeout: time.Second, StopTimeout: time.Second})
		if err == nil || !strings.Contains(err.Error(), "not ready after") || !strings.Contains(err.Error(), "starting, slowly") {
			t.Fatalf("Start: %v; want a timeout with the log's tail", err)
		}
		if d := time.Since(begin); d > 10*time.Second {
			t.Fatalf("Start took %v to give up", d)
		}
	})
	t.Run("bad search attribute", func(t *testing.T) {
		bin := fakeServer(t, `exit 1`)
		_, err := devserver.Start(context.Background(), devserver.Options{Binary: bin, SearchAttributes: map[string]string{"X": "Keywords"}})
		if err == nil || !strings.Contains(err.Error(), `unknown type "Keywords"`) {
			t.Fatalf("Start: %v", err)
		}
	})
}

// TestVersionPinned checks that the Makefile and the install script build
// the version this package looks for.
func TestVersionPinned(t *testing.T) {
	for file, want := range map[string]string{
		"../../Makefile":                    "TEMPORAL_VERSION := " + devserver.Version,
		"../../scripts/install-temporal.sh": "version=${1:-" + devserver.Version + "}",
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not contain %q", file, want)
		}
	}
}

// TestEnsureBinary runs EnsureBinary in a stand-in checkout whose install
// script only pretends to build.
func TestEnsureBinary(t *testing.T) {
	root := t.TempDir()
	script := filepath.Join(root, devserver.InstallScript)
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		t.Fatal(err)
	}
	body := `set -e
[ "$1" = "` + devserver.Version + `" ] || { echo "wrong version $1" >&2; exit 1; }
bin="` + filepath.Join(root, devserver.BinaryRelPath) + `"
mkdir -p "$(dirname "$bin")"; printf '#!/bin/sh\n' > "$bin"; chmod +x "$bin"
echo "install-temporal: building" >&2
echo "$bin"
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "cmd", "dpsweep")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	t.Setenv(devserver.EnvBinary, "")

	var out strings.Builder
	bin, err := devserver.EnsureBinaryTo(context.Background(), &out)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, devserver.BinaryRelPath); bin != want {
		t.Errorf("EnsureBinary = %s, want %s", bin, want)
	}
	if s := out.String(); !strings.Contains(s, "Building the Temporal CLI "+devserver.Version+" once") ||
		!strings.Contains(s, "install-temporal: building") || !strings.Contains(s, "ready in") {
		t.Errorf("EnsureBinary said:\n%s", s)
	}
	// Installed: found at once, nothing said.
	out.Reset()
	if again, err := devserver.EnsureBinaryTo(context.Background(), &out); err != nil || again != bin || out.Len() != 0 {
		t.Errorf("second EnsureBinary: %s, %v, said %q", again, err, out.String())
	}
}
