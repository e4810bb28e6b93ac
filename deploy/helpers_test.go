package deploy

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/dpsweep/dpsweep/services/platform/flagenv"
)

// root is the repository's top directory.
func root(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// makeVar reads NAME := VALUE from the Makefile, where the tools are pinned.
func makeVar(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s*:=\s*(\S+)\s*$`).FindSubmatch(raw)
	if m == nil {
		t.Fatalf("Makefile: no %s", name)
	}
	return string(m[1])
}

// tool returns the path of a file `make deploy-tools` installs under
// .cache/tools. Missing, the test fails when DPSWEEP_TEMPORAL_REQUIRED=1 (make
// test, CI) and skips otherwise.
func tool(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(root(t), ".cache", "tools", rel)
	if _, err := os.Stat(p); err != nil {
		msg := fmt.Sprintf("%s is missing: run `make deploy-tools`", p)
		if os.Getenv("DPSWEEP_TEMPORAL_REQUIRED") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// binary is one of dpsweep's deployable binaries, as its -h output describes it.
type binary struct {
	Name     string // "collection", "worker"
	Pkg      string // import path of its main package, relative to the repository
	Prefixes []string
	// Flags maps each flag to its default ("" when none is shown); Bools are
	// the flags that take no value.
	Flags map[string]string
	Bools map[string]bool
}

// deployables are the binaries that get an image, keyed by short name.
var deployables = map[string]string{
	"collection": "services/collection/cmd/dpsweep-collection",
	"evaluation": "services/evaluation/cmd/dpsweep-evaluation",
	"redaction":  "services/redaction/cmd/dpsweep-redaction",
	"reporting":  "services/reporting/cmd/dpsweep-reporting",
	"sweep":      "services/sweep/cmd/dpsweep-sweep",
	"worker":     "workflows/cmd/dpsweep-worker",
}

// nonFlagEnv are DPSWEEP_* variables read directly rather than through a
// flag, by binary.
var nonFlagEnv = map[string][]string{
	"sweep":  {"DPSWEEP_TEMPORAL_KEY"},
	"worker": {"DPSWEEP_TEMPORAL_KEY"},
}

var built struct {
	once sync.Once
	bins map[string]*binary
	err  error
}

// binaries builds every deployable once and reads its flags from -h.
func binaries(t *testing.T) map[string]*binary {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "dpsweep-deploy-bin-")
		if err != nil {
			built.err = err
			return
		}
		args := []string{"build", "-o", dir + string(os.PathSeparator)}
		for _, pkg := range deployables {
			args = append(args, "./"+pkg)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		built.bins = map[string]*binary{}
		for name, pkg := range deployables {
			out, _ := exec.Command(filepath.Join(dir, filepath.Base(pkg)), "-h").CombinedOutput()
			b := &binary{Name: name, Pkg: pkg, Prefixes: []string{"DPSWEEP_" + strings.ToUpper(name), "DPSWEEP"}}
			b.Flags, b.Bools = parseUsage(string(out))
			if len(b.Flags) == 0 {
				built.err = fmt.Errorf("%s -h shows no flags:\n%s", pkg, out)
				return
			}
			built.bins[name] = b
		}
		_ = os.RemoveAll(dir)
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bins
}

var (
	usageFlag    = regexp.MustCompile(`^  -([a-z0-9][a-z0-9.-]*)(?: (\S+))?`)
	usageDefault = regexp.MustCompile(`\(default "?([^")]*)"?\)\s*$`)
)

// parseUsage reads the flag package's PrintDefaults output.
func parseUsage(out string) (flags map[string]string, bools map[string]bool) {
	flags, bools = map[string]string{}, map[string]bool{}
	var last string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := usageFlag.FindStringSubmatch(line); m != nil {
			last = m[1]
			flags[last] = ""
			if m[2] == "" {
				bools[last] = true
			}
		}
		if m := usageDefault.FindStringSubmatch(line); m != nil && last != "" {
			flags[last] = m[1]
		}
	}
	return flags, bools
}

// envFlag names the flag an environment variable sets in b, or "" when it
// sets none; nonFlag reports a variable b reads directly.
func (b *binary) envFlag(name string) (flag string, nonFlag bool) {
	for _, p := range b.Prefixes {
		for _, f := range sortedKeys(b.Flags) {
			if flagenv.EnvName(p, f) == name {
				return f, false
			}
		}
	}
	for _, v := range nonFlagEnv[b.Name] {
		if v == name {
			return "", true
		}
	}
	return "", false
}

// checkArgs reports arguments that are not flags of b, and returns the
// flags given with their values.
func (b *binary) checkArgs(args []string) (map[string]string, []error) {
	var errs []error
	got := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			errs = append(errs, fmt.Errorf("%s: argument %q is not a flag", b.Name, a))
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if _, ok := b.Flags[name]; !ok {
			errs = append(errs, fmt.Errorf("%s has no flag --%s", b.Name, name))
			continue
		}
		if !hasValue && !b.Bools[name] {
			if i+1 == len(args) {
				errs = append(errs, fmt.Errorf("%s: --%s has no value", b.Name, name))
				continue
			}
			i++
			value = args[i]
		}
		got[name] = value
	}
	return got, errs
}

// checkEnv reports DPSWEEP_* variables that set no flag of b (a typo, or a
// variable meant for another binary).
func (b *binary) checkEnv(names []string) []error {
	var errs []error
	for _, n := range names {
		if !strings.HasPrefix(n, "DPSWEEP_") {
			continue
		}
		if f, direct := b.envFlag(n); f == "" && !direct {
			errs = append(errs, fmt.Errorf("%s: %s sets no flag (prefixes %s)", b.Name, n, strings.Join(b.Prefixes, ", ")))
		}
	}
	return errs
}

// listenPort is the port of b's default --addr, or "" for a binary that
// listens nowhere.
func (b *binary) listenPort() string {
	addr, ok := b.Flags["addr"]
	if !ok {
		return ""
	}
	_, port, _ := strings.Cut(addr, ":")
	return port
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func wantNoErrors(t *testing.T, what string, errs []error) {
	t.Helper()
	for _, err := range errs {
		t.Errorf("%s: %v", what, err)
	}
}

// wantErrorMentioning fails unless one of errs contains every fragment.
func wantErrorMentioning(t *testing.T, what string, errs []error, fragments ...string) {
	t.Helper()
	for _, err := range errs {
		ok := true
		for _, f := range fragments {
			ok = ok && strings.Contains(err.Error(), f)
		}
		if ok {
			return
		}
	}
	t.Errorf("%s: no error mentions %q; got %v", what, fragments, errs)
}
