// Package custom loads users' custom controls: YAML files whose controls
// judge resources with CEL expressions over the collected attributes.
//
// A custom control becomes a catalog.Control like the built-in ones. Its
// expressions are compiled when the file is loaded (they must be boolean),
// and its own pass and fail examples are run then too: a file loads only
// when every control in it compiles and judges its examples as they say.
// Rules see a resource's identity and attributes, never its free-form
// fields. See docs/CUSTOM_CONTROLS.md.
package custom

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	"github.com/dpsweep/dpsweep/services/evaluation/catalog"
)

// Error is one problem in a custom controls file, printed on one line as
// "<file>:<line>: control <id>: <field>: <problem>"; the control and field
// parts are left out when unknown.
type Error struct {
	File    string
	Line    int
	Control string // the control's ID, "" when unknown
	Field   string // e.g. "condition", "tests.fail[0]"; "" when the problem is not one field's
	Problem string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	if e.Control != "" {
		b.WriteString("control " + e.Control + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Fixture resources' identity.
const (
	fixtureARN     = "arn:aws:test:us-east-1:111122223333:fixture"
	fixtureAccount = "111122223333"
	fixtureRegion  = "us-east-1"
)

// Defaults of the optional fields.
const (
	defaultCategory    = "custom"
	defaultRationale   = "Custom control."
	defaultRemediation = "Change the resource's configuration so that the control's condition holds."
	defaultFailMessage = "condition is false"
)

var (
	idPattern           = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	resourceTypePattern = regexp.MustCompile(`^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$`)
)

const reservedPrefix = "DPS-"

type severityName struct {
	name string
	sev  evaluationv1.Severity
}

var severities = []severityName{
	{"INFORMATIONAL", evaluationv1.Severity_SEVERITY_INFORMATIONAL},
	{"LOW", evaluationv1.Severity_SEVERITY_LOW},
	{"MEDIUM", evaluationv1.Severity_SEVERITY_MEDIUM},
	{"HIGH", evaluationv1.Severity_SEVERITY_HIGH},
	{"CRITICAL", evaluationv1.Severity_SEVERITY_CRITICAL},
}

// Keys a file, a control and a test example may have.
var (
	fileKeys    = []string{"controls"}
	controlKeys = []string{"id", "title", "description", "severity", "category", "rationale", "remediation", "resource_types",
		"applies_if", "condition", "fail_message", "tests"}
	testsKeys   = []string{"pass", "fail"}
	exampleKeys = []string{"attributes", "name", "region", "account_id", "type"}
)

// maxDepth bounds the nesting of example attributes.
const maxDepth = 64

// Load reads custom controls from files and directories (every *.yaml and
// *.yml in a directory, sorted, not recursive). Control IDs must be unique
// across everything loaded. All problems are reported, one per line.
func Load(paths ...string) ([]*catalog.Control, error) {
	var files []string
	var errs []error
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, ioError(p, err))
			continue
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			errs = append(errs, ioError(p, err))
			continue
		}
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); e.IsDir() || (ext != ".yaml" && ext != ".yml") {
				continue
			}
			files = append(files, filepath.Join(p, e.Name()))
		}
	}
	var out []*catalog.Control
	seen := map[string]string{} // ID -> "file:line"
	loaded := map[string]bool{}
	for _, f := range files {
		if loaded[filepath.Clean(f)] {
			continue // named twice, e.g. as a file and through its directory
		}
		loaded[filepath.Clean(f)] = true
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, ioError(f, err))
			continue
		}
		entries, err := parse(f, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			if first, dup := seen[e.control.ID]; dup {
				errs = append(errs, &Error{File: f, Line: e.line, Control: e.control.ID, Field: "id", Problem: "duplicate of the control at " + first})
				continue
			}
			seen[e.control.ID] = f + ":" + strconv.Itoa(e.line)
			out = append(out, e.control)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// ioError is "<path>: <problem>", wrapping the problem (fs.ErrNotExist...).
func ioError(path string, err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		err = pe.Err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// Parse reads custom controls from one YAML document; name is used in error
// messages and as the controls' SourceFile.
func Parse(name string, data []byte) ([]*catalog.Control, error) {
	entries, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	out := make([]*catalog.Control, len(entries))
	for i, e := range entries {
		out[i] = e.control
	}
	return out, nil
}

// entry is a parsed control and the line of its ID.
type entry struct {
	control *catalog.Control
	line    int
}

// parser collects the problems of one file.
type parser struct {
	file string
	errs []error
}

func (p *parser) errorf(line int, id, field, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Control: id, Field: field, Problem: oneLine(fmt.Sprintf(format, args...))})
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func parse(name string, data []byte) ([]entry, error) {
	p := &parser{file: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(1, "", "", `empty document: want a mapping with the key "controls"`)
		} else {
			line, msg := yamlError(err)
			p.errorf(line, "", "", "%s", msg)
		}
		return nil, errors.Join(p.errs...)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		p.errorf(max(extra.Line, 1), "", "", "want one YAML document, found more")
		return nil, errors.Join(p.errs...)
	case !errors.Is(err, io.EOF):
		line, msg := yamlError(err)
		p.errorf(line, "", "", "%s", msg)
		return nil, errors.Join(p.errs...)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	keys := p.mapping(root, "", "", fileKeys)
	if keys == nil {
		return nil, errors.Join(p.errs...)
	}
	list, ok := keys["controls"]
	if !ok {
		p.errorf(root.Line, "", "controls", "required")
		return nil, errors.Join(p.errs...)
	}
	if p.kind(list.value, yaml.SequenceNode, "", "controls") {
		return nil, errors.Join(p.errs...)
	}
	var out []entry
	ids := map[string]int{}
	now := time.Now()
	for i, n := range list.value.Content {
		e, ok := p.control(i, n, now)
		if !ok {
			continue
		}
		if first, dup := ids[e.control.ID]; dup {
			p.errorf(e.line, e.control.ID, "id", "duplicate of the control at %s:%d", name, first)
			continue
		}
		ids[e.control.ID] = e.line
		out = append(out, e)
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return out, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError turns a YAML parser error into a line and a message.
func yamlError(err error) (int, string) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, "YAML: " + msg[len(m[0]):]
	}
	// The parser leaves the line out for problems on the first.
	return 1, "YAML: " + strings.TrimPrefix(msg, "yaml: ")
}

// keyValue is one entry of a mapping.
type keyValue struct {
	key, value *yaml.Node
}

// kindName names a node's kind for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "null"
		}
		return "a scalar"
	}
	return "a document"
}

// kind reports (true) a problem when n is not of the kind wanted.
func (p *parser) kind(n *yaml.Node, want yaml.Kind, id, field string) bool {
	if n.Kind == want && (want != yaml.ScalarNode || n.ShortTag() != "!!null") {
		return false
	}
	wantName := map[yaml.Kind]string{yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list", yaml.ScalarNode: "a string"}[want]
	p.errorf(n.Line, id, field, "want %s, got %s", wantName, kindName(n))
	return true
}

// mapping reads a mapping's entries, reporting unknown and repeated keys;
// nil when n is not a mapping.
func (p *parser) mapping(n *yaml.Node, id, field string, known []string) map[string]keyValue {
	if p.kind(n, yaml.MappingNode, id, field) {
		return nil
	}
	out := map[string]keyValue{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !p.key(k, id, field) {
			continue
		}
		if !slices.Contains(known, k.Value) {
			p.errorf(k.Line, id, field, "unknown key %q", k.Value)
			continue
		}
		if prev, dup := out[k.Value]; dup {
			p.errorf(k.Line, id, field, "key %q repeats line %d", k.Value, prev.key.Line)
			continue
		}
		if v.Kind == yaml.AliasNode {
			p.errorf(v.Line, id, join(field, k.Value), "aliases are not supported")
			continue
		}
		out[k.Value] = keyValue{k, v}
	}
	return out
}

// key reports (false) a mapping key that is not a plain scalar.
func (p *parser) key(k *yaml.Node, id, field string) bool {
	switch {
	case k.Kind != yaml.ScalarNode:
		p.errorf(k.Line, id, field, "want a string key, got %s", kindName(k))
	case k.ShortTag() == "!!merge":
		p.errorf(k.Line, id, field, "merge keys (<<) are not supported")
	default:
		return true
	}
	return false
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// str reads an optional string field: ok false when absent or null (or, with
// a problem reported, not a scalar).
func (p *parser) str(keys map[string]keyValue, key, id string) (string, int, bool) {
	kv, present := keys[key]
	if !present || (kv.value.Kind == yaml.ScalarNode && kv.value.ShortTag() == "!!null") {
		return "", 0, false
	}
	if p.kind(kv.value, yaml.ScalarNode, id, key) {
		return "", 0, false
	}
	return kv.value.Value, kv.value.Line, true
}

// peekID returns a control's ID when it has a well-formed one, so that every
// problem of the control can name it.
func peekID(n *yaml.Node) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Kind == yaml.ScalarNode && k.Value == "id" && v.Kind == yaml.ScalarNode && idPattern.MatchString(v.Value) {
			return v.Value
		}
	}
	return ""
}

// control reads one control.
func (p *parser) control(i int, n *yaml.Node, now time.Time) (entry, bool) {
	before := len(p.errs)
	if p.kind(n, yaml.MappingNode, "", fmt.Sprintf("controls[%d]", i)) {
		return entry{}, false
	}
	id := peekID(n)
	keys := p.mapping(n, id, "", controlKeys)
	c := &catalog.Control{ID: id, Source: evaluationv1.ControlSource_CONTROL_SOURCE_CUSTOM, SourceFile: p.file}

	raw, idLine, ok := p.str(keys, "id", "")
	switch {
	case !ok:
		if kv, present := keys["id"]; !present || kv.value.Kind == yaml.ScalarNode {
			p.errorf(n.Line, "", "id", "required")
		}
	case id == "":
		p.errorf(idLine, "", "id", "want letters, digits, '_', '.' and '-', starting with a letter or digit, at most 64, got %q", raw)
	case len(id) >= len(reservedPrefix) && strings.EqualFold(id[:len(reservedPrefix)], reservedPrefix):
		p.errorf(idLine, id, "id", "the prefix %q is reserved for built-in controls", reservedPrefix)
	}

	// missingLine is where a missing or null field is reported: its key's
	// line when present, else the control's.
	missingLine := func(key string) int {
		if kv, present := keys[key]; present {
			return kv.key.Line
		}
		return n.Line
	}
	required := func(key string) (string, int) {
		v, line, ok := p.str(keys, key, id)
		if !ok {
			if kv, present := keys[key]; !present || kv.value.Kind == yaml.ScalarNode {
				p.errorf(missingLine(key), id, key, "required")
			}
			return "", 0
		}
		if strings.TrimSpace(v) == "" {
			p.errorf(line, id, key, "required, got an empty string")
			return "", 0
		}
		return v, line
	}
	optional := func(key, def string) string {
		if v, _, ok := p.str(keys, key, id); ok && strings.TrimSpace(v) != "" {
			return v
		}
		return def
	}

	c.Title, _ = required("title")
	c.Description = optional("description", c.Title)
	if sev, line := required("severity"); sev != "" {
		i := slices.IndexFunc(severities, func(s severityName) bool { return strings.EqualFold(s.name, strings.TrimSpace(sev)) })
		if i < 0 {
			p.errorf(line, id, "severity", "want one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL, got %q", sev)
		} else {
			c.Severity = severities[i].sev
		}
	}
	c.Category = optional("category", defaultCategory)
	c.Rationale = optional("rationale", defaultRationale)
	c.Remediation = p.strings(keys, "remediation", id, 0)
	if len(c.Remediation) == 0 {
		c.Remediation = []string{defaultRemediation}
	}
	if types := p.strings(keys, "resource_types", id, missingLine("resource_types")); len(types) > 0 {
		line := keys["resource_types"].value.Line
		for j, t := range types {
			if !resourceTypePattern.MatchString(t) {
				p.errorf(keys["resource_types"].value.Content[j].Line, id, fmt.Sprintf("resource_types[%d]", j), "want a type like AWS::S3::Bucket, got %q", t)
			} else if slices.Contains(types[:j], t) {
				p.errorf(line, id, "resource_types", "%s is listed twice", t)
			}
		}
		c.ResourceTypes = types
	}
	failMessage := optional("fail_message", defaultFailMessage)

	var r rule
	r.failMessage = failMessage
	if src, line, ok := p.str(keys, "applies_if", id); ok {
		if prog, problem := compile(src); problem != "" {
			p.errorf(line, id, "applies_if", "%s", problem)
		} else {
			r.appliesIf = prog
		}
	}
	if src, line := required("condition"); src != "" {
		if prog, problem := compile(src); problem != "" {
			p.errorf(line, id, "condition", "%s", problem)
		} else {
			r.condition = prog
		}
	}
	if r.condition != nil {
		c.Check = r.check
	}

	examples := p.tests(keys, missingLine("tests"), id, c.ResourceTypes)
	if len(p.errs) > before {
		return entry{}, false
	}
	for _, ex := range examples {
		fx := catalog.Fixture{Name: ex.field, Resource: ex.resource, Env: catalog.Env{Now: now}}
		env := fx.Env
		got := c.Check(&fx.Resource, &env)
		if got.Status != ex.want {
			p.errorf(ex.line, id, ex.field, "want %s, got %s", ex.want, describe(got))
		}
		if ex.want == catalog.Pass {
			c.Pass = append(c.Pass, fx)
		} else {
			c.Fail = append(c.Fail, fx)
		}
	}
	if len(p.errs) > before {
		return entry{}, false
	}
	if err := c.Validate(); err != nil {
		p.errorf(n.Line, id, "", "%s", strings.TrimPrefix(err.Error(), "control "+id+": "))
		return entry{}, false
	}
	return entry{control: c, line: idLine}, true
}

// describe names an outcome for a load error.
func describe(o catalog.Outcome) string {
	switch o.Status {
	case catalog.Pass, catalog.Fail:
		return o.Status.String()
	case catalog.NotAssessed:
		return "NOT_ASSESSED (" + o.Summary + ")"
	}
	return "NOT_APPLICABLE (applies_if is false)"
}

// strings reads a list of strings; a required list (missingLine not 0) must
// have at least one.
func (p *parser) strings(keys map[string]keyValue, key, id string, missingLine int) []string {
	required := missingLine != 0
	kv, present := keys[key]
	if !present || (kv.value.Kind == yaml.ScalarNode && kv.value.ShortTag() == "!!null") {
		if required {
			p.errorf(missingLine, id, key, "required")
		}
		return nil
	}
	if p.kind(kv.value, yaml.SequenceNode, id, key) {
		return nil
	}
	if required && len(kv.value.Content) == 0 {
		p.errorf(kv.value.Line, id, key, "want at least one")
		return nil
	}
	var out []string
	for j, item := range kv.value.Content {
		field := fmt.Sprintf("%s[%d]", key, j)
		if p.kind(item, yaml.ScalarNode, id, field) {
			continue
		}
		if strings.TrimSpace(item.Value) == "" {
			p.errorf(item.Line, id, field, "empty")
			continue
		}
		out = append(out, item.Value)
	}
	return out
}

// example is one test example of a control.
type example struct {
	field    string // "tests.pass[0]"
	line     int
	want     catalog.Status
	resource catalog.Resource
}

// tests reads a control's examples: at least one of each kind.
func (p *parser) tests(keys map[string]keyValue, controlLine int, id string, types []string) []example {
	kv, present := keys["tests"]
	if !present {
		p.errorf(controlLine, id, "tests", "required: at least one pass and one fail example")
		return nil
	}
	tk := p.mapping(kv.value, id, "tests", testsKeys)
	if tk == nil {
		return nil
	}
	var out []example
	for _, kind := range []struct {
		key  string
		want catalog.Status
	}{{"pass", catalog.Pass}, {"fail", catalog.Fail}} {
		field := "tests." + kind.key
		list, present := tk[kind.key]
		if !present {
			p.errorf(kv.value.Line, id, field, "required: at least one example")
			continue
		}
		if p.kind(list.value, yaml.SequenceNode, id, field) {
			continue
		}
		if len(list.value.Content) == 0 {
			p.errorf(list.value.Line, id, field, "want at least one example")
			continue
		}
		for j, n := range list.value.Content {
			f := fmt.Sprintf("%s[%d]", field, j)
			if ex, ok := p.example(n, id, f, types); ok {
				ex.want = kind.want
				out = append(out, ex)
			}
		}
	}
	return out
}

// example reads one test example: a resource's attributes and, optionally,
// its name, region, account and type.
func (p *parser) example(n *yaml.Node, id, field string, types []string) (example, bool) {
	before := len(p.errs)
	keys := p.mapping(n, id, field, exampleKeys)
	if keys == nil {
		return example{}, false
	}
	r := catalog.Resource{ARN: fixtureARN, Account: fixtureAccount, Region: fixtureRegion, Attrs: map[string]any{}}
	if len(types) > 0 {
		r.Type = types[0]
	}
	if v, line, ok := p.str(keys, "type", id); ok {
		if !slices.Contains(types, v) {
			p.errorf(line, id, field+".type", "want one of the control's resource_types, got %q", v)
		}
		r.Type = v
	}
	if v, _, ok := p.str(keys, "name", id); ok {
		r.Name = v
	}
	if v, _, ok := p.str(keys, "region", id); ok {
		r.Region = v
	}
	if v, _, ok := p.str(keys, "account_id", id); ok {
		r.Account = v
	}
	if kv, present := keys["attributes"]; present && kv.value.ShortTag() != "!!null" {
		if !p.kind(kv.value, yaml.MappingNode, id, field+".attributes") {
			if m, ok := p.value(kv.value, id, field+".attributes", 0).(map[string]any); ok {
				r.Attrs = m
			}
		}
	}
	return example{field: field, line: n.Line, resource: r}, len(p.errs) == before
}

// value converts YAML to the Go values of a collected attribute (bool,
// float64, string, []any, map[string]any, nil).
func (p *parser) value(n *yaml.Node, id, field string, depth int) any {
	if depth > maxDepth {
		p.errorf(n.Line, id, field, "nested deeper than %d levels", maxDepth)
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		lines := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !p.key(k, id, field) {
				continue
			}
			if prev, dup := lines[k.Value]; dup {
				p.errorf(k.Line, id, field, "key %q repeats line %d", k.Value, prev)
				continue
			}
			lines[k.Value] = k.Line
			m[k.Value] = p.value(v, id, field+"."+k.Value, depth+1)
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			l = append(l, p.value(item, id, fmt.Sprintf("%s[%d]", field, i), depth+1))
		}
		return l
	case yaml.ScalarNode:
		switch tag := n.ShortTag(); tag {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				p.errorf(n.Line, id, field, "want a bool, got %q", n.Value)
			}
			return b
		case "!!int", "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				p.errorf(n.Line, id, field, "want a number, got %q", n.Value)
			}
			return f
		case "!!str", "!!timestamp", "!!binary":
			return n.Value
		default:
			p.errorf(n.Line, id, field, "unsupported tag %s", tag)
			return nil
		}
	case yaml.AliasNode:
		p.errorf(n.Line, id, field, "aliases are not supported")
		return nil
	}
	p.errorf(n.Line, id, field, "unsupported YAML node")
	return nil
}
