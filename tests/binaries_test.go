package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// built caches one `go build` of every binary for the whole test run.
var built struct {
	once sync.Once
	dir  string
	err  error
}

var binaries = []string{
	"github.com/dpsweep/dpsweep/services/collection/cmd/dpsweep-collection",
	"github.com/dpsweep/dpsweep/services/evaluation/cmd/dpsweep-evaluation",
	"github.com/dpsweep/dpsweep/services/redaction/cmd/dpsweep-redaction",
	"github.com/dpsweep/dpsweep/services/reporting/cmd/dpsweep-reporting",
	"github.com/dpsweep/dpsweep/services/sweep/cmd/dpsweep-sweep",
	"github.com/dpsweep/dpsweep/workflows/cmd/dpsweep-worker",
}

// binary returns the path of a built binary, building all of them once.
func binary(t *testing.T, name string) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "dpsweep-bin-")
		if built.err != nil {
			return
		}
		args := append([]string{"build", "-o", built.dir + string(os.PathSeparator)}, binaries...)
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return filepath.Join(built.dir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// process is a running binary whose JSON log lines are collected.
type process struct {
	cmd   *exec.Cmd
	addr  string
	mu    sync.Mutex
	lines []map[string]any
	raw   strings.Builder
	done  chan error
}

// startBinary runs name with args on a free 127.0.0.1 port and waits for its
// "serving" log record, which carries the bound address.
func startBinary(t *testing.T, name string, args ...string) *process {
	t.Helper()
	args = append([]string{"--addr", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"}, args...)
	cmd := exec.Command(binary(t, name), args...)
	// The flag wins over the environment; data (the reporting store) stays in the test.
	cmd.Env = append(os.Environ(), "DPSWEEP_LOG_LEVEL=error", "XDG_DATA_HOME="+t.TempDir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan error, 1)}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec map[string]any
			p.mu.Lock()
			p.raw.WriteString(sc.Text() + "\n")
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				p.lines = append(p.lines, rec)
				if rec["msg"] == "serving" {
					addrc <- rec["addr"].(string)
				}
			}
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.addr = <-addrc:
	case err := <-p.done:
		t.Fatalf("%s exited before serving: %v\n%s", name, err, p.logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not log 'serving' within 30s\n%s", name, p.logs())
	}
	return p
}

func (p *process) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// stop sends SIGTERM and returns the exit error, waiting at most 20s.
func (p *process) stop(t *testing.T) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		t.Fatalf("no exit within 20s of SIGTERM\n%s", p.logs())
		return nil
	}
}
