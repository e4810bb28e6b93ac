package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
)

// The flag tables of docs/USER_GUIDE.md are made from the binaries' own -h
// output, between <!-- flags:NAME --> and <!-- /flags:NAME --> markers.
// TestFlagDocs fails when a documented flag no longer exists, a flag is
// undocumented, or a default or description changed. After changing flags:
//
//	DPSWEEP_UPDATE_FLAGDOCS=1 go test -run TestFlagDocs ./tests/
const userGuide = "../docs/USER_GUIDE.md"

var services = []string{"collection", "evaluation", "redaction", "reporting", "sweep"}

// buildOthers builds the binaries that binaries_test.go's list leaves out
// (only this test needs them) into a temporary directory.
func buildOthers(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", dir+string(os.PathSeparator),
		"github.com/dpsweep/dpsweep/workflows/cmd/dpsweep-worker", "github.com/dpsweep/dpsweep/cmd/dpsweep").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// flagDoc is one flag as -h prints it.
type flagDoc struct {
	name, usage, def string
}

// help runs a binary with args (ending in -h) in a clean environment and
// parses the flags it prints. The exit status does not matter: some
// binaries exit 1 after printing their usage.
func help(t *testing.T, bin string, args ...string) []flagDoc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, _ := cmd.CombinedOutput()
	flags := parseFlagHelp(string(out))
	if len(flags) == 0 {
		t.Fatalf("%s %s printed no flags:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	}
	return flags
}

var (
	flagLine   = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9._-]*)(?: ([^\t]*))?(?:\t(.*))?$`)
	defaultEnd = regexp.MustCompile(` \(default ("(?:[^"\\]|\\.)*"|[^()]*)\)$`)
)

// parseFlagHelp reads flag.PrintDefaults output: "  -name type" then the
// usage on lines indented with four spaces and a tab, the default last as
// " (default X)" when it is not the zero value.
func parseFlagHelp(out string) []flagDoc {
	var flags []flagDoc
	var usage []string
	flush := func() {
		if len(flags) == 0 {
			return
		}
		f := &flags[len(flags)-1]
		f.usage = strings.Join(usage, " ")
		if m := defaultEnd.FindStringSubmatch(f.usage); m != nil {
			f.usage = strings.TrimSuffix(f.usage, m[0])
			f.def = strings.Trim(m[1], `"`)
		}
		usage = nil
	}
	for _, line := range strings.Split(out, "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil {
			flush()
			flags = append(flags, flagDoc{name: m[1]})
			if m[3] != "" {
				usage = append(usage, strings.TrimSpace(m[3]))
			}
			continue
		}
		if strings.HasPrefix(line, "    \t") && len(flags) > 0 {
			usage = append(usage, strings.TrimSpace(line))
		}
	}
	flush()
	return flags
}

func envName(prefix, flag string) string {
	return prefix + "_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flag))
}

// mdCell escapes what Markdown would take for a table border or an HTML
// tag or autolink (<host:port>).
func mdCell(s string) string { return strings.NewReplacer("|", `\|`, "<", `\<`).Replace(s) }

func mdDefault(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + s + "`"
}

// flagTables makes every generated section of the user guide.
func flagTables(t *testing.T) map[string]string {
	perService := map[string][]flagDoc{}
	for _, s := range services {
		perService[s] = help(t, binary(t, "dpsweep-"+s), "-h")
	}
	// Shared: the flags every service has (services/platform/server).
	count := map[string]int{}
	for _, s := range services {
		for _, f := range perService[s] {
			count[f.name]++
		}
	}
	shared := func(name string) bool { return count[name] == len(services) }

	sections := map[string]string{}
	var b strings.Builder
	b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
	for _, f := range perService[services[0]] {
		if !shared(f.name) {
			continue
		}
		defs := map[string]bool{}
		var each []string
		for _, s := range services {
			for _, g := range perService[s] {
				if g.name == f.name {
					defs[g.def] = true
					each = append(each, s+" "+mdDefault(g.def))
				}
			}
		}
		def := mdDefault(f.def)
		if len(defs) > 1 {
			def = strings.Join(each, ", ")
		}
		fmt.Fprintf(&b, "| `--%s` | `%s`, `%s` | %s | %s |\n", f.name, envName("DPSWEEP_<SERVICE>", f.name), envName("DPSWEEP", f.name), def, mdCell(f.usage))
	}
	sections["shared"] = b.String()

	for _, s := range services {
		b.Reset()
		b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
		prefix := "DPSWEEP_" + strings.ToUpper(s)
		for _, f := range perService[s] {
			if shared(f.name) {
				continue
			}
			fmt.Fprintf(&b, "| `--%s` | `%s` | %s | %s |\n", f.name, envName(prefix, f.name), mdDefault(f.def), mdCell(f.usage))
		}
		sections[s] = b.String()
	}

	b.Reset()
	b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
	others := buildOthers(t)
	for _, f := range help(t, filepath.Join(others, "dpsweep-worker"), "-h") {
		fmt.Fprintf(&b, "| `--%s` | `%s` | %s | %s |\n", f.name, envName("DPSWEEP_WORKER", f.name), mdDefault(f.def), mdCell(f.usage))
	}
	sections["worker"] = b.String()

	b.Reset()
	b.WriteString("| flag | default | meaning |\n|---|---|---|\n")
	for _, f := range help(t, filepath.Join(others, "dpsweep"), "codec-server", "-h") {
		fmt.Fprintf(&b, "| `--%s` | %s | %s |\n", f.name, mdDefault(f.def), mdCell(f.usage))
	}
	sections["codec-server"] = b.String()

	// The CLI's spec flags print their defaults in the usage text.
	b.Reset()
	b.WriteString("| flag | meaning |\n|---|---|\n")
	for _, f := range help(t, filepath.Join(others, "dpsweep"), "sweep", "start", "-h") {
		usage := f.usage
		if f.def != "" {
			usage += " (default " + f.def + ")"
		}
		fmt.Fprintf(&b, "| `--%s` | %s |\n", f.name, mdCell(usage))
	}
	sections["sweep-start"] = b.String()
	return sections
}

var sectionRE = regexp.MustCompile(`(?s)(<!-- flags:([a-z-]+) -->\n)(.*?)(<!-- /flags:([a-z-]+) -->)`)

// documentedFlags lists the flags of a generated table.
func documentedFlags(table string) []string {
	var names []string
	for _, m := range regexp.MustCompile("(?m)^\\| `--([^`]+)`").FindAllStringSubmatch(table, -1) {
		names = append(names, m[1])
	}
	return names
}

func TestFlagDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every binary")
	}
	raw, err := os.ReadFile(userGuide)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	want := flagTables(t)
	seen := map[string]bool{}
	var problems []string
	updated := sectionRE.ReplaceAllStringFunc(doc, func(s string) string {
		m := sectionRE.FindStringSubmatch(s)
		name, have := m[2], m[3]
		if m[5] != name {
			problems = append(problems, fmt.Sprintf("<!-- flags:%s --> ends with <!-- /flags:%s -->", name, m[5]))
			return s
		}
		seen[name] = true
		table, ok := want[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("section flags:%s names no binary this test knows", name))
			return s
		}
		if have != table {
			real, documented := documentedFlags(table), documentedFlags(have)
			for _, f := range documented {
				if !slices.Contains(real, f) {
					problems = append(problems, fmt.Sprintf("%s: documented flag --%s no longer exists", name, f))
				}
			}
			for _, f := range real {
				if !slices.Contains(documented, f) {
					problems = append(problems, fmt.Sprintf("%s: flag --%s is undocumented", name, f))
				}
			}
			if slices.Equal(slices.Sorted(slices.Values(real)), slices.Sorted(slices.Values(documented))) {
				problems = append(problems, fmt.Sprintf("%s: a default or a description differs from -h", name))
			}
		}
		return m[1] + table + m[4]
	})
	for name := range want {
		if !seen[name] {
			problems = append(problems, fmt.Sprintf("%s has no <!-- flags:%s --> section", userGuide, name))
		}
	}
	if os.Getenv("DPSWEEP_UPDATE_FLAGDOCS") != "" {
		if updated != doc {
			if err := os.WriteFile(userGuide, []byte(updated), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("rewrote the flag tables of %s", userGuide)
		}
		for _, p := range problems {
			if !strings.Contains(p, ": documented flag") && !strings.Contains(p, ": flag --") && !strings.Contains(p, "differs from -h") {
				t.Error(p)
			}
		}
		return
	}
	if len(problems) > 0 {
		t.Fatalf("%s is out of date with the binaries' -h output:\n  %s\nregenerate with DPSWEEP_UPDATE_FLAGDOCS=1 go test -run TestFlagDocs ./tests/",
			userGuide, strings.Join(problems, "\n  "))
	}
}

// TestConfigKeysDocumented keeps the user guide's table of config-file keys
// equal to the fields of SweepSpec, the message a config file holds.
func TestConfigKeysDocumented(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(userGuide)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<!-- config-keys -->\n(.*?)<!-- /config-keys -->`).FindSubmatch(raw)
	if m == nil {
		t.Fatalf("%s has no <!-- config-keys --> table", userGuide)
	}
	documented := map[string]string{}
	for _, row := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| `([A-Za-z]+)` \\|").FindAllStringSubmatch(string(m[1]), -1) {
		documented[row[1]] = row[2]
	}
	fields := (&sweepv1.SweepSpec{}).ProtoReflect().Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		json, ok := documented[string(f.Name())]
		switch {
		case !ok:
			t.Errorf("config key %s (SweepSpec field %d) is undocumented in %s", f.Name(), f.Number(), userGuide)
		case json != f.JSONName():
			t.Errorf("config key %s: documented JSON name %s, want %s", f.Name(), json, f.JSONName())
		}
		delete(documented, string(f.Name()))
	}
	for k := range documented {
		t.Errorf("documented config key %s is no field of SweepSpec", k)
	}
}
