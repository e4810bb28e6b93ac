package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	Line int
	Cmd  string // upper case: FROM, RUN, ...
	Args string
}

// stage is a FROM and what follows it.
type stage struct {
	Image, Name string
	Instrs      []instruction
}

// parseDockerfile splits a Dockerfile into stages. It understands comments,
// parser directives, and line continuations, which is all ours use.
func parseDockerfile(src string) ([]stage, error) {
	var stages []stage
	var cur strings.Builder
	start := 0
	flush := func() error {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{Line: start, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			st := stage{Image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.Name = f[2]
			}
			stages = append(stages, st)
			return nil
		}
		if len(stages) == 0 {
			if in.Cmd == "ARG" {
				return nil
			}
			return fmt.Errorf("line %d: %s before FROM", in.Line, in.Cmd)
		}
		stages[len(stages)-1].Instrs = append(stages[len(stages)-1].Instrs, in)
		return nil
	}
	for i, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return stages, nil
}

var (
	goImage       = regexp.MustCompile(`^golang:(\d+\.\d+\.\d+)-(bookworm|trixie|alpine3\.\d+)$`)
	runtimeImages = []string{"gcr.io/distroless/static-debian12:nonroot", "scratch"}
	goBuild       = regexp.MustCompile(`\bgo build\b.*\s-o\s+(\S+)\s+\./(\S+)`)
)

// checkDockerfile reports what is wrong with the Dockerfile of b: it must be
// multi-stage, build b's main package statically (CGO_ENABLED=0) in a golang
// stage of a pinned version, ship it alone on a distroless static (or
// scratch) base as a non-root user, and EXPOSE exactly the port b listens on
// by default, listening there on every interface.
func checkDockerfile(repo, src string, b *binary) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	stages, err := parseDockerfile(src)
	if err != nil {
		return []error{err}
	}
	if len(stages) < 2 {
		return []error{fmt.Errorf("not multi-stage: %d stage(s)", len(stages))}
	}
	build, final := stages[0], stages[len(stages)-1]
	if m := goImage.FindStringSubmatch(build.Image); m == nil {
		bad("builder image %q is not golang:<x.y.z>-<debian or alpine release>", build.Image)
	} else if want := workspaceGo(repo); want == "" || olderGo(m[1], want) {
		bad("builder Go %s is older than go.work's go %s", m[1], want)
	}
	if !slices.Contains(runtimeImages, final.Image) {
		bad("final image %q is none of %v", final.Image, runtimeImages)
	}
	static, built := false, ""
	for _, in := range build.Instrs {
		if (in.Cmd == "ENV" || in.Cmd == "RUN") && regexp.MustCompile(`\bCGO_ENABLED=0\b`).MatchString(in.Args) {
			static = true
		}
		if in.Cmd == "RUN" {
			if m := goBuild.FindStringSubmatch(in.Args); m != nil {
				built = m[2]
				if filepath.Base(m[1]) != filepath.Base(b.Pkg) {
					bad("go build -o %s: want the binary named %s", m[1], filepath.Base(b.Pkg))
				}
			}
		}
	}
	if !static {
		bad("builder does not set CGO_ENABLED=0: the binary would not be static")
	}
	switch {
	case built == "":
		bad("no `go build -o OUT ./PKG` in the builder stage")
	case built != b.Pkg:
		bad("builds ./%s, want ./%s", built, b.Pkg)
	case !isMainPackage(filepath.Join(repo, built)):
		bad("./%s is not a main package of the repository", built)
	}
	user, ports, addrEnv, entry := "", []string{}, "", ""
	for _, in := range final.Instrs {
		switch in.Cmd {
		case "USER":
			user = in.Args
		case "EXPOSE":
			ports = append(ports, strings.Fields(in.Args)...)
		case "ENV":
			for _, kv := range strings.Fields(in.Args) {
				if k, v, ok := strings.Cut(kv, "="); ok && k == "DPSWEEP_"+strings.ToUpper(b.Name)+"_ADDR" {
					addrEnv = v
				}
			}
		case "ENTRYPOINT":
			entry = in.Args
		case "RUN":
			bad("final stage runs %q: it has no shell", in.Args)
		}
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "root" || name == "0" {
		bad("final stage runs as %q, want a non-root USER", user)
	}
	if !strings.Contains(entry, "/"+filepath.Base(b.Pkg)+`"`) {
		bad("ENTRYPOINT %s does not run %s", entry, filepath.Base(b.Pkg))
	}
	want := b.listenPort()
	switch {
	case want == "" && len(ports) > 0:
		bad("EXPOSE %v, but %s listens on no port", ports, b.Name)
	case want != "" && !slices.Equal(ports, []string{want}):
		bad("EXPOSE %v, want [%s], the port of %s's default --addr", ports, want, b.Name)
	case want != "" && addrEnv != ":"+want:
		bad("DPSWEEP_%s_ADDR=%q, want \":%s\" (every interface of the container, the default port)", strings.ToUpper(b.Name), addrEnv, want)
	}
	return errs
}

// workspaceGo is the go directive of go.work, the oldest Go that builds the workspace.
func workspaceGo(repo string) string {
	raw, err := os.ReadFile(filepath.Join(repo, "go.work"))
	if err != nil {
		return ""
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)\s*$`).FindSubmatch(raw)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// olderGo reports whether Go version a (1.26.8) is older than b (1.26 or 1.26.0).
func olderGo(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < 3; i++ {
		var x, y int
		if i < len(pa) {
			fmt.Sscan(pa[i], &x)
		}
		if i < len(pb) {
			fmt.Sscan(pb[i], &y)
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// isMainPackage reports whether dir holds Go files of package main.
func isMainPackage(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err == nil && regexp.MustCompile(`(?m)^package main\s*$`).Match(raw) {
			return true
		}
	}
	return false
}

func dockerfilePath(repo, name string) string {
	return filepath.Join(repo, "deploy", "docker", name+".Dockerfile")
}

// TestDeployDockerfiles: each deployable binary has a Dockerfile that
// passes checkDockerfile, and every main package under services/*/cmd and
// workflows/cmd is deployable.
func TestDeployDockerfiles(t *testing.T) {
	repo := root(t)
	bins := binaries(t)
	mains, _ := filepath.Glob(filepath.Join(repo, "services", "*", "cmd", "*"))
	more, _ := filepath.Glob(filepath.Join(repo, "workflows", "cmd", "*"))
	for _, dir := range append(mains, more...) {
		rel, _ := filepath.Rel(repo, dir)
		if isMainPackage(dir) && !slices.Contains(sortedValues(deployables), filepath.ToSlash(rel)) {
			t.Errorf("%s is a binary without an image: add deploy/docker/<name>.Dockerfile and list it in deployables", rel)
		}
	}
	// The context is the repository: keep the caches (tools, Temporal builds) and VCS out of it.
	ignore, err := os.ReadFile(filepath.Join(repo, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".git", ".cache"} {
		if !slices.Contains(strings.Fields(string(ignore)), p) {
			t.Errorf(".dockerignore does not exclude %s from the build context", p)
		}
	}
	files, _ := filepath.Glob(filepath.Join(repo, "deploy", "docker", "*.Dockerfile"))
	if len(files) != len(deployables) {
		t.Errorf("deploy/docker has %d Dockerfiles, want %d (one per deployable)", len(files), len(deployables))
	}
	for _, name := range sortedKeys(bins) {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(dockerfilePath(repo, name))
			if err != nil {
				t.Fatal(err)
			}
			wantNoErrors(t, name+".Dockerfile", checkDockerfile(repo, string(raw), bins[name]))
		})
	}
}

// TestDeployDockerfileCheckRejects: checkDockerfile catches each way a
// Dockerfile can go wrong.
func TestDeployDockerfileCheckRejects(t *testing.T) {
	repo := root(t)
	b := binaries(t)["collection"]
	raw, err := os.ReadFile(dockerfilePath(repo, "collection"))
	if err != nil {
		t.Fatal(err)
	}
	good := string(raw)
	if errs := checkDockerfile(repo, good, b); len(errs) > 0 {
		t.Fatalf("the real Dockerfile fails: %v", errs)
	}
	tests := map[string]struct {
		from, to string
		want     string
	}{
		"single stage":       {"FROM gcr.io/distroless/static-debian12:nonroot", "# gone", "not multi-stage"},
		"root user":          {"USER 65532:65532", "USER root", "non-root USER"},
		"no user":            {"USER 65532:65532", "", "non-root USER"},
		"cgo":                {"CGO_ENABLED=0", "CGO_ENABLED=1", "CGO_ENABLED=0"},
		"unpinned builder":   {"golang:1.26.8-bookworm", "golang:latest", "builder image"},
		"old builder":        {"golang:1.26.8-bookworm", "golang:1.25.9-bookworm", "older than go.work"},
		"fat runtime":        {"gcr.io/distroless/static-debian12:nonroot", "debian:12", "final image"},
		"wrong port":         {"EXPOSE 7401", "EXPOSE 8080", "EXPOSE [8080]"},
		"loopback only":      {"DPSWEEP_COLLECTION_ADDR=:7401", "DPSWEEP_COLLECTION_ADDR=127.0.0.1:7401", "every interface"},
		"missing package":    {"./services/collection/cmd/dpsweep-collection", "./services/collection/cmd/dpsweep-collector", "builds ./services/collection/cmd/dpsweep-collector"},
		"another binary":     {"-o /out/dpsweep-collection", "-o /out/dpsweep-evaluation", "want the binary named dpsweep-collection"},
		"shell in final":     {"USER 65532:65532", "RUN chmod +x /usr/local/bin/dpsweep-collection\nUSER 65532:65532", "no shell"},
		"wrong entrypoint":   {`ENTRYPOINT ["/usr/local/bin/dpsweep-collection"]`, `ENTRYPOINT ["/bin/sh"]`, "does not run dpsweep-collection"},
		"builder without go": {"go build", "go vet", "no `go build"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(good, tc.from) {
				t.Fatalf("the Dockerfile has no %q to break", tc.from)
			}
			wantErrorMentioning(t, name, checkDockerfile(repo, strings.Replace(good, tc.from, tc.to, 1), b), tc.want)
		})
	}
	// The worker listens nowhere: no EXPOSE.
	w, err := os.ReadFile(dockerfilePath(repo, "worker"))
	if err != nil {
		t.Fatal(err)
	}
	wantErrorMentioning(t, "worker with EXPOSE", checkDockerfile(repo, string(w)+"EXPOSE 7406\n", binaries(t)["worker"]), "listens on no port")
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
