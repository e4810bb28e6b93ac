// Package devserver runs a real Temporal server for the demo, `dpsweep dev`
// and the end-to-end tests: the Temporal CLI's `temporal server start-dev`
// (frontend, history, matching and worker services, SQLite persistence and,
// optionally, the Web UI in one process) as a child process.
//
// The server is a separate binary rather than a library so that
// go.temporal.io/server, with its large dependency graph, never enters the
// go.work workspace. scripts/install-temporal.sh (`make temporal`) builds the
// CLI at the pinned Version through the Go module proxy into
// .cache/tools/temporal-<Version>/temporal; [EnsureBinary] runs it when the
// binary is missing.
//
//	srv, err := devserver.Start(ctx, devserver.Options{UI: true})
//	if err != nil { ... }
//	defer srv.Stop()
//	c, err := srv.Dial(ctx) // an SDK client on srv.HostPort(), srv.Namespace()
package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// Version is the pinned Temporal CLI version. scripts/install-temporal.sh and
// TEMPORAL_VERSION in the Makefile carry the same value (a test checks).
const Version = "v1.5.1"

// EnvBinary names the environment variable that points at a Temporal CLI
// binary to use instead of the one in .cache/tools.
const EnvBinary = "DPSWEEP_TEMPORAL"

// BinaryRelPath is where scripts/install-temporal.sh puts the binary,
// relative to the root of the checkout.
var BinaryRelPath = filepath.Join(".cache", "tools", "temporal-"+Version, "temporal")

// ErrNoBinary is returned (wrapped) by [Start] and [FindBinary] when no
// Temporal CLI binary can be found.
var ErrNoBinary = errors.New("temporal CLI binary not found")

// Search attribute types accepted by Options.SearchAttributes (any case).
var searchAttributeTypes = map[string]enums.IndexedValueType{
	"text":        enums.INDEXED_VALUE_TYPE_TEXT,
	"keyword":     enums.INDEXED_VALUE_TYPE_KEYWORD,
	"int":         enums.INDEXED_VALUE_TYPE_INT,
	"double":      enums.INDEXED_VALUE_TYPE_DOUBLE,
	"bool":        enums.INDEXED_VALUE_TYPE_BOOL,
	"datetime":    enums.INDEXED_VALUE_TYPE_DATETIME,
	"keywordlist": enums.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}

// DefaultDynamicConfig is the dynamic config every server gets (on top of
// start-dev's own, which makes new search attributes visible at once).
// One partition per task queue, as suits a single-host server: with the
// server's default of four, a few pollers miss tasks on partitions they are
// not polling and tasks wait to be forwarded; on a 2-core machine one
// partition gets a workflow through 1.5 to 2 times as many activities per
// second, for about the same CPU. Eager activity execution hands a worker
// the activities its workflow task just scheduled (up to three) in the
// answer to that task, without a round through matching: each AccountSweep
// of a sweep gets its DescribeAccount and its first scans that way, which
// took about a sixth off the server's CPU time per account in bench/sweep.
var DefaultDynamicConfig = map[string]any{
	"matching.numTaskqueueReadPartitions":  1,
	"matching.numTaskqueueWritePartitions": 1,
	"system.enableActivityEagerExecution":  true,
}

// DefaultFilePragmas are the SQLite pragmas of a server with a DBFile.
// start-dev leaves SQLite's defaults (a rollback journal, synchronous=FULL),
// under which every persistence write creates, syncs and deletes a journal:
// on a busy 2-core machine a workflow then got about 60 activities or 9 child
// workflows through per second, at twice the server CPU each. With a
// write-ahead log and synchronous=NORMAL it gets about 3 times as many, close
// to an in-memory server. A process crash still loses nothing; a power cut
// may lose the last transactions but leaves a consistent database, which
// suits a dev server.
var DefaultFilePragmas = map[string]string{
	"journal_mode": "wal",
	"synchronous":  "normal",
}

// Options configure [Start]. The zero value runs an in-memory, headless
// server on a free 127.0.0.1 port with the "default" namespace.
type Options struct {
	// Binary is the Temporal CLI to run. Empty means $DPSWEEP_TEMPORAL, or
	// else .cache/tools/temporal-<Version>/temporal in the working directory
	// or one of its parents.
	Binary string
	// DBFile is the SQLite file that keeps the server's state across
	// restarts; its directory must exist. Empty means in memory.
	DBFile string
	// Namespace is created at start (if absent) and is the one Dial uses.
	// Empty means "default", which always exists.
	Namespace string
	// IP is the address the frontend, the UI and the metrics endpoint bind
	// to. Empty means 127.0.0.1.
	IP string
	// Port is the frontend's gRPC port; 0 picks a free one.
	Port int
	// UI serves the Web UI on UIPort (0 picks a free one).
	UI     bool
	UIPort int
	// UICodecEndpoint is a codec server (package workflows/codec) the Web
	// UI decodes payloads with, from the operator's browser.
	UICodecEndpoint string
	// SearchAttributes maps custom search attribute names to their types:
	// Text, Keyword, Int, Double, Bool, Datetime or KeywordList. They are
	// registered on Namespace at start, also on an existing DBFile.
	SearchAttributes map[string]string
	// SQLitePragmas are set on the database connection (--sqlite-pragma),
	// added to (and winning over) DefaultFilePragmas when DBFile is set.
	SQLitePragmas map[string]string
	// DynamicConfig holds dynamic config values (key → value, which is
	// marshalled as JSON), passed as --dynamic-config-value. They are added
	// to DefaultDynamicConfig and win over it.
	DynamicConfig map[string]any
	// LogFile receives the server's output (appended). The last lines are
	// also kept in memory for error messages and [Server.LogTail].
	LogFile string
	// LogLevel is the server's log level: debug, info, warn (the default)
	// or error.
	LogLevel string
	// StartTimeout bounds the wait for the server to answer; default 60s.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL;
	// default 10s.
	StopTimeout time.Duration
}

// Server is a running `temporal server start-dev` child process.
type Server struct {
	hostPort  string
	uiURL     string
	namespace string
	binary    string
	dbFile    string

	cmd         *exec.Cmd
	logFile     *os.File
	tail        *tailBuffer
	stopTimeout time.Duration

	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed

	stopOnce sync.Once
	stopErr  error
}

// HostPort is the frontend's gRPC address, for client.Options.HostPort.
func (s *Server) HostPort() string { return s.hostPort }

// UIURL is the Web UI's address ("http://127.0.0.1:port"), or "" when the
// server runs without the UI.
func (s *Server) UIURL() string { return s.uiURL }

// Namespace is the namespace created for the caller.
func (s *Server) Namespace() string { return s.namespace }

// Binary is the path of the Temporal CLI that runs this server.
func (s *Server) Binary() string { return s.binary }

// PID is the server process's ID.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Exited is closed when the server process has exited, whether through
// Stop or not.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// LogTail returns the last lines the server wrote.
func (s *Server) LogTail() string { return s.tail.String() }

// Dial returns an SDK client of the server's namespace. The caller closes it.
func (s *Server) Dial(ctx context.Context) (client.Client, error) {
	return client.DialContext(ctx, client.Options{
		HostPort:  s.hostPort,
		Namespace: s.namespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
}

// Stop ends the server: SIGTERM, then SIGKILL if it has not exited within
// Options.StopTimeout. It returns nil when the server exited on SIGTERM
// (or had already been stopped), and is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	defer func() {
		if s.logFile != nil {
			_ = s.logFile.Close()
		}
	}()
	select {
	case <-s.exited:
		return nil // exited on its own; Start or the caller saw why
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = s.cmd.Process.Kill()
	}
	t := time.NewTimer(s.stopTimeout)
	defer t.Stop()
	select {
	case <-s.exited:
		return nil
	case <-t.C:
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	return fmt.Errorf("temporal dev server (pid %d) did not exit within %v of SIGTERM; killed", s.cmd.Process.Pid, s.stopTimeout)
}

// Start runs `temporal server start-dev` and returns once the frontend
// answers health checks and the namespace can be described (and the UI
// answers HTTP, when enabled). ctx bounds the start only; the server runs
// until Stop. When Port or UIPort is 0 and the free port picked is taken by
// the time the server binds it, Start retries with other ports.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin := opts.Binary
	if bin == "" {
		var err error
		if bin, err = FindBinary(); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w: %v; run 'make temporal' (or scripts/install-temporal.sh)", ErrNoBinary, err)
	}
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "warn"
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.DBFile != "" {
		abs, err := filepath.Abs(opts.DBFile)
		if err != nil {
			return nil, err
		}
		opts.DBFile = abs
	}
	attrs, err := parseSearchAttributes(opts.SearchAttributes)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	const attempts = 3
	for attempt := 1; ; attempt++ {
		o := opts
		if o.Port == 0 {
			if o.Port, err = freePort(o.IP); err != nil {
				return nil, err
			}
		}
		if o.UI && o.UIPort == 0 {
			if o.UIPort, err = freePort(o.IP); err != nil {
				return nil, err
			}
		}
		s, err := start(ctx, bin, o, attrs)
		if err == nil {
			return s, nil
		}
		var pe *portError
		if attempt < attempts && errors.As(err, &pe) && (opts.Port == 0 || (opts.UI && opts.UIPort == 0)) && ctx.Err() == nil {
			continue // lost a race for a free port: try others
		}
		return nil, err
	}
}

// permanentError stops waitReady's polling at once.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }

// portError is a server that exited at start because a port was taken.
type portError struct{ err error }

func (e *portError) Error() string { return e.err.Error() }
func (e *portError) Unwrap() error { return e.err }

func start(ctx context.Context, bin string, o Options, attrs map[string]enums.IndexedValueType) (*Server, error) {
	args := []string{"server", "start-dev",
		"--ip", o.IP,
		"--port", strconv.Itoa(o.Port),
		"--log-level", o.LogLevel,
		"--log-format", "text",
		"--color", "never",
	}
	if o.UI {
		args = append(args, "--ui-port", strconv.Itoa(o.UIPort))
		if o.UICodecEndpoint != "" {
			args = append(args, "--ui-codec-endpoint", o.UICodecEndpoint)
		}
	} else {
		args = append(args, "--headless")
	}
	if o.DBFile != "" {
		args = append(args, "--db-filename", o.DBFile)
	}
	if o.Namespace != "default" {
		args = append(args, "--namespace", o.Namespace)
	}
	for _, name := range slices.Sorted(maps.Keys(o.SearchAttributes)) {
		args = append(args, "--search-attribute", name+"="+o.SearchAttributes[name])
	}
	pragmas := map[string]string{}
	if o.DBFile != "" {
		maps.Copy(pragmas, DefaultFilePragmas)
	}
	maps.Copy(pragmas, o.SQLitePragmas)
	for _, key := range slices.Sorted(maps.Keys(pragmas)) {
		args = append(args, "--sqlite-pragma", key+"="+pragmas[key])
	}
	dc := maps.Clone(DefaultDynamicConfig)
	maps.Copy(dc, o.DynamicConfig)
	for _, key := range slices.Sorted(maps.Keys(dc)) {
		v, err := jsonValue(dc[key])
		if err != nil {
			return nil, fmt.Errorf("dynamic config %s: %w", key, err)
		}
		args = append(args, "--dynamic-config-value", key+"="+v)
	}

	s := &Server{
		hostPort:    net.JoinHostPort(o.IP, strconv.Itoa(o.Port)),
		namespace:   o.Namespace,
		binary:      bin,
		dbFile:      o.DBFile,
		tail:        newTailBuffer(64 << 10),
		stopTimeout: o.StopTimeout,
		exited:      make(chan struct{}),
	}
	if o.UI {
		s.uiURL = "http://" + net.JoinHostPort(o.IP, strconv.Itoa(o.UIPort))
	}
	var out io.Writer = s.tail
	if o.LogFile != "" {
		f, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("temporal dev server log: %w", err)
		}
		s.logFile = f
		out = io.MultiWriter(f, s.tail)
	}

	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = out, out
	s.cmd.SysProcAttr = sysProcAttr()
	s.cmd.WaitDelay = time.Second // never hang on the output pipe
	if err := s.cmd.Start(); err != nil {
		if s.logFile != nil {
			_ = s.logFile.Close()
		}
		return nil, fmt.Errorf("starting temporal dev server %s: %w", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	begin := time.Now()
	if err := s.waitReady(ctx, attrs); err != nil {
		select {
		case <-s.exited:
			err = fmt.Errorf("temporal dev server exited during start (%v): %w", s.waitErr, err)
			if isPortConflict(s.tail.String()) {
				err = &portError{err}
			}
		default:
			err = fmt.Errorf("temporal dev server on %s not ready after %v: %w", s.hostPort, time.Since(begin).Round(time.Millisecond), err)
		}
		_ = s.Stop() // SIGTERM, SIGKILL; closes the log file
		return nil, fmt.Errorf("%w\n%s\n--- last lines of the server's log ---\n%s", err, s.describe(args), lastLines(s.tail.String(), 30))
	}
	return s, nil
}

func (s *Server) describe(args []string) string {
	return "command: " + s.binary + " " + strings.Join(args, " ")
}

// waitReady polls until the frontend serves the namespace with the search
// attributes, and the UI answers.
func (s *Server) waitReady(ctx context.Context, attrs map[string]enums.IndexedValueType) error {
	exited := func() error {
		select {
		case <-s.exited:
			return errors.New("server process exited")
		default:
			return nil
		}
	}
	poll := func(what string, f func(context.Context) error) error {
		var last error
		for {
			if err := exited(); err != nil {
				return err
			}
			attemptCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
			last = f(attemptCtx)
			cancel()
			var perm *permanentError
			if last == nil {
				return nil
			} else if errors.As(last, &perm) {
				return fmt.Errorf("%s: %w", what, perm.err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), last)
			case <-s.exited:
			case <-time.After(50 * time.Millisecond):
			}
		}
	}

	// A TCP connection first: dialling gRPC at a closed port would back off.
	var d net.Dialer
	if err := poll("frontend port", func(ctx context.Context) error {
		c, err := d.DialContext(ctx, "tcp", s.hostPort)
		if err == nil {
			_ = c.Close()
		}
		return err
	}); err != nil {
		return err
	}
	var c client.Client
	if err := poll("frontend health", func(ctx context.Context) error {
		var err error
		if c == nil {
			if c, err = s.Dial(ctx); err != nil {
				return err
			}
		}
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}); err != nil {
		if c != nil {
			c.Close()
		}
		return err
	}
	defer c.Close()
	if err := poll("namespace "+s.namespace, func(ctx context.Context) error {
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace})
		return err
	}); err != nil {
		return err
	}
	if len(attrs) > 0 {
		// start-dev registers search attributes only when it creates the
		// namespace, so on an existing database add the missing ones.
		if err := poll("search attributes", func(ctx context.Context) error {
			return ensureSearchAttributes(ctx, c, s.namespace, attrs)
		}); err != nil {
			return err
		}
	}
	if s.uiURL != "" {
		// The UI server starts before the frontend listens, and its gRPC
		// connection to the frontend backs off after the first refusal: wait
		// until the UI's API reaches the namespace, not just until it listens.
		hc := &http.Client{Timeout: 2 * time.Second}
		url := s.uiURL + "/api/v1/namespaces/" + s.namespace
		if err := poll("web UI "+url, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("HTTP %s: %s", resp.Status, strings.TrimSpace(string(body)))
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func ensureSearchAttributes(ctx context.Context, c client.Client, ns string, want map[string]enums.IndexedValueType) error {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return err
	}
	missing := map[string]enums.IndexedValueType{}
	for name, typ := range want {
		have, ok := resp.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case have != typ:
			return &permanentError{fmt.Errorf("search attribute %s exists as %v, not %v", name, have, typ)}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: ns, SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if errors.As(err, &exists) {
		err = nil
	}
	if err == nil {
		return errors.New("search attributes added; checking") // poll again to confirm
	}
	return err
}

func parseSearchAttributes(in map[string]string) (map[string]enums.IndexedValueType, error) {
	out := make(map[string]enums.IndexedValueType, len(in))
	for name, typ := range in {
		t, ok := searchAttributeTypes[strings.ToLower(typ)]
		if !ok {
			return nil, fmt.Errorf("search attribute %s: unknown type %q (want Text, Keyword, Int, Double, Bool, Datetime or KeywordList)", name, typ)
		}
		if name == "" || strings.ContainsAny(name, "= \t\n") {
			return nil, fmt.Errorf("search attribute name %q is not an identifier", name)
		}
		out[name] = t
	}
	return out, nil
}

func isPortConflict(log string) bool {
	return strings.Contains(log, "address already in use") || strings.Contains(log, "can't set") ||
		strings.Contains(log, "can't use default UI port")
}

// freePort returns a port on ip that was free a moment ago.
func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FindBinary returns the Temporal CLI to run: $DPSWEEP_TEMPORAL when set,
// else .cache/tools/temporal-<Version>/temporal in the working directory or
// the nearest parent that has it. The error wraps ErrNoBinary and says how
// to install it.
func FindBinary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: $%s=%s: %v", ErrNoBinary, EnvBinary, p, err)
		}
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		p := filepath.Join(dir, BinaryRelPath)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("%w: no %s in %s or its parents, and $%s is unset; run 'make temporal' (or scripts/install-temporal.sh) in the dpsweep checkout",
		ErrNoBinary, BinaryRelPath, wd, EnvBinary)
}
