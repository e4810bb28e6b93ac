package deploy

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeFile is the part of the Compose specification our file uses.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
	// XHealthcheck is the anchor the services' healthchecks merge.
	XHealthcheck map[string]any `yaml:"x-dpsweep-healthcheck"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Command     stringList        `yaml:"command"`
	Entrypoint  stringList        `yaml:"entrypoint"`
	Environment map[string]string `yaml:"environment"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test        stringList `yaml:"test"`
		Interval    string     `yaml:"interval"`
		Timeout     string     `yaml:"timeout"`
		Retries     int        `yaml:"retries"`
		StartPeriod string     `yaml:"start_period"`
	} `yaml:"healthcheck"`
	Ports   []string `yaml:"ports"`
	Volumes []string `yaml:"volumes"`
	Restart string   `yaml:"restart"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// stringList is a Compose command: a list, or a string split on spaces.
type stringList []string

func (s *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = strings.Fields(n.Value)
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

var interpolation = regexp.MustCompile(`\$\{([A-Z0-9_]+)(?::?[-?]([^}]*))?\}`)

// interpolate replaces ${VAR:-default} by its default, as an empty
// environment would (and ${VAR} by "").
func interpolate(s string) string {
	s = interpolation.ReplaceAllString(s, "$2")
	return strings.ReplaceAll(s, "$$", "$")
}

// readCompose decodes a compose file, rejecting unknown keys at the levels
// modelled above (a misspelt depends_on or healthcheck fails here).
func readCompose(src string) (*composeFile, error) {
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	var f composeFile
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	return &f, nil
}

// The services the stack must have besides dpsweep's own.
var composeInfra = []string{"postgres", "temporal", "temporal-ui"}

// checkCompose reports what is wrong with the compose file at repo/deploy/compose:
// every dpsweep binary runs from the image its Dockerfile builds, with flags
// and DPSWEEP_* variables it has, client addresses that name a service of
// the stack on the port it listens on, and a gRPC healthcheck where it
// serves; dependencies exist and wait for health where there is one.
func checkCompose(repo string, f *composeFile, bins map[string]*binary) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	dir := filepath.Join(repo, "deploy", "compose")
	for _, name := range append(slices.Clone(composeInfra), sortedKeys(bins)...) {
		if _, ok := f.Services[name]; !ok {
			bad("no service %q", name)
		}
	}
	// Where each service listens inside the stack.
	ports := map[string]string{"temporal": "7233", "postgres": "5432"}
	for name, b := range bins {
		ports[name] = b.listenPort()
	}
	for _, name := range sortedKeys(f.Services) {
		s := f.Services[name]
		if s.Image == "" && s.Build == nil {
			bad("%s: neither image nor build", name)
		}
		if s.Image != "" && !strings.HasPrefix(s.Image, "dpsweep-") && !regexp.MustCompile(`:[0-9][0-9A-Za-z.-]*$`).MatchString(s.Image) {
			bad("%s: image %q has no pinned version tag", name, s.Image)
		}
		for dep, d := range s.DependsOn {
			target, ok := f.Services[dep]
			switch {
			case !ok:
				bad("%s depends on %q, which is no service", name, dep)
			case d.Condition == "service_healthy" && target.Healthcheck == nil:
				bad("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
			case !slices.Contains([]string{"service_started", "service_healthy", "service_completed_successfully"}, d.Condition):
				bad("%s depends on %s with condition %q", name, dep, d.Condition)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(interpolate(v), ":")
			if !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, ".") {
				if _, ok := f.Volumes[src]; !ok {
					bad("%s mounts volume %q, which is not declared", name, src)
				}
			}
		}
		b, ours := bins[name]
		if !ours {
			continue
		}
		if s.Build == nil {
			bad("%s: no build section", name)
			continue
		}
		if ctx := filepath.Clean(filepath.Join(dir, s.Build.Context)); ctx != filepath.Clean(repo) {
			bad("%s: build context %s is not the repository root (the go.work workspace)", name, ctx)
		}
		want := filepath.Join("deploy", "docker", name+".Dockerfile")
		if filepath.Clean(s.Build.Dockerfile) != want {
			bad("%s: dockerfile %s, want %s", name, s.Build.Dockerfile, want)
		} else if _, err := os.Stat(filepath.Join(repo, want)); err != nil {
			bad("%s: %v", name, err)
		}
		if len(s.Entrypoint) > 0 {
			bad("%s: overrides the image's entrypoint", name)
		}
		args := make([]string, len(s.Command))
		for i, a := range s.Command {
			args[i] = interpolate(a)
		}
		given, argErrs := b.checkArgs(args)
		errs = append(errs, argErrs...)
		errs = append(errs, b.checkEnv(sortedKeys(s.Environment))...)
		for flag, v := range given {
			if flag == "temporal-address" || (strings.HasSuffix(flag, "-addr") && flag != "addr") {
				host, port, err := net.SplitHostPort(v)
				switch {
				case err != nil:
					bad("%s: --%s=%q: %v", name, flag, v, err)
				case ports[host] == "":
					bad("%s: --%s=%s names no service of the stack that listens", name, flag, v)
				case ports[host] != port:
					bad("%s: --%s=%s, but %s listens on %s", name, flag, v, host, ports[host])
				default:
					if _, ok := s.DependsOn[host]; !ok && host != "temporal" {
						bad("%s calls %s (--%s) without depending on it", name, host, flag)
					}
				}
			}
		}
		port := b.listenPort()
		for _, p := range s.Ports {
			parts := strings.Split(p, ":")
			if parts[len(parts)-1] != port {
				bad("%s: publishes %s, but %s listens on %q", name, p, name, port)
			}
		}
		switch {
		case port == "" && s.Healthcheck != nil:
			bad("%s: healthcheck on a binary that serves nothing", name)
		case port != "" && s.Healthcheck == nil:
			bad("%s: no healthcheck", name)
		case port != "":
			hc := strings.Join(s.Healthcheck.Test, " ")
			if !strings.Contains(hc, "grpc_health_probe") || !strings.Contains(hc, "-addr=localhost:"+port) {
				bad("%s: healthcheck %q does not probe gRPC health on localhost:%s", name, hc, port)
			}
		}
	}
	return errs
}

func readRealCompose(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root(t), "deploy", "compose", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestDeployCompose: the compose file decodes strictly and passes checkCompose.
func TestDeployCompose(t *testing.T) {
	f, err := readCompose(readRealCompose(t))
	if err != nil {
		t.Fatal(err)
	}
	wantNoErrors(t, "compose.yaml", checkCompose(root(t), f, binaries(t)))
	if got := f.Services["temporal-ui"].Environment["TEMPORAL_ADDRESS"]; got != "temporal:7233" {
		t.Errorf("temporal-ui: TEMPORAL_ADDRESS=%q, want temporal:7233", got)
	}
}

// TestDeployComposeCheckRejects: checkCompose catches broken variants.
func TestDeployComposeCheckRejects(t *testing.T) {
	good := readRealCompose(t)
	bins := binaries(t)
	tests := map[string]struct {
		from, to string
		want     []string
	}{
		"unknown flag":       {`"--redaction-addr", "redaction:7403"`, `"--redactor-addr", "redaction:7403"`, []string{"evaluation has no flag --redactor-addr"}},
		"wrong port":         {`"--redaction-addr", "redaction:7403"`, `"--redaction-addr", "redaction:7402"`, []string{"redaction listens on 7403"}},
		"unknown host":       {"- reporting:7404", "- reports:7404", []string{"names no service"}},
		"missing dependency": {"      postgres:\n        condition: service_healthy\n    command:", "      postgress:\n        condition: service_healthy\n    command:", []string{`"postgress", which is no service`}},
		"env for another":    {"DPSWEEP_TEMPORAL_KEY: ${DPSWEEP_TEMPORAL_KEY:-}\n    # The control", "DPSWEEP_SWEEP_TEMPORAL_ADRESS: temporal:7233\n    # The control", []string{"DPSWEEP_SWEEP_TEMPORAL_ADRESS sets no flag"}},
		"no dockerfile":      {"deploy/docker/sweep.Dockerfile", "deploy/docker/sweeper.Dockerfile", []string{"sweep: dockerfile"}},
		"wrong health port":  {"-addr=localhost:7404", "-addr=localhost:7405", []string{"reporting: healthcheck"}},
		"unpinned image":     {"temporalio/ui:2.34.0", "temporalio/ui:latest", []string{"no pinned version tag"}},
		"published port":     {"127.0.0.1:7405:7405", "127.0.0.1:7405:7406", []string{"publishes 127.0.0.1:7405:7406"}},
		"undeclared volume":  {"- reports:/home/nonroot", "- report:/home/nonroot", []string{`volume "report"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(good, tc.from) {
				t.Fatalf("compose.yaml has no %q to break", tc.from)
			}
			f, err := readCompose(strings.Replace(good, tc.from, tc.to, 1))
			if err != nil {
				t.Fatal(err)
			}
			wantErrorMentioning(t, name, checkCompose(root(t), f, bins), tc.want...)
		})
	}
	if _, err := readCompose(strings.Replace(good, "    healthcheck:\n      <<: *healthcheck\n      test: [\"CMD\", \"pg_isready\"", "    healtcheck:\n      <<: *healthcheck\n      test: [\"CMD\", \"pg_isready\"", 1)); err == nil {
		t.Error("a misspelt key decodes")
	}
}
