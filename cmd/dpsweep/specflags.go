package main

// A SweepSpec from a config file (YAML or JSON) and flags: the flags of
// `sweep start` and `schedule create`, and the file they override.

import (
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
)

// specFlags are the flags that make a SweepSpec.
type specFlags struct {
	config                           string
	regions, controls, formats       listFlag
	includeAccounts, excludeAccounts listFlag
	includeOUs, excludeOUs           listFlag
	includeTags, excludeTags         listFlag
	roleName, externalID             string
	maxConcurrent                    int
	requestsPerSecond                float64
	fips                             bool
	lookupEventsWindow               time.Duration
}

func (s *specFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.config, "config", "", "sweep spec `file`, YAML or JSON (deploy/config/sweep.example.yaml); flags override its fields")
	fs.Var(&s.regions, "regions", "`regions` to scan, comma-separated (default: every region each account has enabled; '' overrides the file's list)")
	fs.Var(&s.includeAccounts, "include-accounts", "only these 12-digit `accounts`, comma-separated (default: every active account)")
	fs.Var(&s.excludeAccounts, "exclude-accounts", "never these `accounts`")
	fs.Var(&s.includeOUs, "include-ous", "only accounts under these `OUs` or roots, at any depth (ou-xxxx-yyyyyyyy, r-xxxx)")
	fs.Var(&s.excludeOUs, "exclude-ous", "never accounts under these `OUs`")
	fs.Var(&s.includeTags, "include-tags", "only accounts with every one of these Organizations tags: `key=value,...` (a bare key matches any value)")
	fs.Var(&s.excludeTags, "exclude-tags", "never accounts with any of these tags: `key=value,...`")
	fs.StringVar(&s.roleName, "role-name", "", "`role` assumed in each member account (default dpsweep-readonly)")
	fs.StringVar(&s.externalID, "external-id", "", "`ExternalId` for sts:AssumeRole, when the role's trust policy requires one")
	fs.IntVar(&s.maxConcurrent, "max-concurrent-accounts", 0, "accounts scanned at once, 1-1000 (default 50)")
	fs.Float64Var(&s.requestsPerSecond, "requests-per-second", 0, "AWS API requests per second per account, retries included (default: the collection service's --requests-per-second, 10)")
	fs.BoolVar(&s.fips, "fips", false, "use FIPS endpoints; services without one are reported NOT_ASSESSED (--fips=false overrides the file)")
	fs.Var(&s.controls, "controls", "`controls` to run by ID, comma-separated (default: every control)")
	fs.Var(&s.formats, "formats", "`formats` of the reports written when the sweep ends, comma-separated: "+enumChoices(reportFormatEnum)+" (default html)")
	fs.DurationVar(&s.lookupEventsWindow, "lookup-events-window", 0, "CloudTrail window of the TLS-version control, up to 2160h (default 24h)")
}

var reportFormatEnum = reportingv1.ReportFormat(0).Descriptor()

// spec reads --config, then sets every field whose flag is on the command
// line, replacing the file's value (lists are replaced, not extended).
func (s *specFlags) spec(fs *flag.FlagSet) (*sweepv1.SweepSpec, error) {
	spec := &sweepv1.SweepSpec{}
	if s.config != "" {
		var err error
		if spec, err = loadSpec(s.config); err != nil {
			return nil, err
		}
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err != nil {
			return
		}
		switch f.Name {
		case "regions":
			spec.Regions = s.regions.vals
		case "include-accounts":
			spec.IncludeAccountIds = s.includeAccounts.vals
		case "exclude-accounts":
			spec.ExcludeAccountIds = s.excludeAccounts.vals
		case "include-ous":
			spec.IncludeOuIds = s.includeOUs.vals
		case "exclude-ous":
			spec.ExcludeOuIds = s.excludeOUs.vals
		case "include-tags":
			spec.IncludeTags = parseTags(s.includeTags.vals)
		case "exclude-tags":
			spec.ExcludeTags = parseTags(s.excludeTags.vals)
		case "role-name":
			spec.RoleName = s.roleName
		case "external-id":
			spec.ExternalId = s.externalID
		case "max-concurrent-accounts":
			if s.maxConcurrent < math.MinInt32 || s.maxConcurrent > math.MaxInt32 {
				err = fmt.Errorf("--max-concurrent-accounts %d is out of range (1-1000)", s.maxConcurrent)
			}
			spec.MaxConcurrentAccounts = int32(s.maxConcurrent)
		case "requests-per-second":
			spec.ApiRequestsPerSecond = s.requestsPerSecond
		case "fips":
			spec.UseFipsEndpoints = s.fips
		case "controls":
			spec.ControlIds = s.controls.vals
		case "formats":
			spec.ReportFormats, err = parseEnums[reportingv1.ReportFormat]("formats", reportFormatEnum, s.formats.vals)
		case "lookup-events-window":
			spec.LookupEventsWindow = durationpb.New(s.lookupEventsWindow)
		}
	})
	if err != nil {
		return nil, err
	}
	return spec, nil
}

// parseTags reads key=value (or key: any value) items.
func parseTags(vals []string) []*sweepv1.Tag {
	out := make([]*sweepv1.Tag, 0, len(vals))
	for _, v := range vals {
		out = append(out, parseTag(v))
	}
	return out
}

func parseTag(s string) *sweepv1.Tag {
	k, v, _ := strings.Cut(s, "=")
	return &sweepv1.Tag{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)}
}

// loadSpec reads a spec file.
func loadSpec(path string) (*sweepv1.SweepSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	return decodeSpec(data, path)
}

// decodeSpec reads a SweepSpec from YAML or JSON (JSON is YAML). Fields go
// by the proto's names (include_account_ids) or their JSON names
// (includeAccountIds); enums by short name (html) or full name
// (REPORT_FORMAT_HTML); durations as Go durations (24h) or protobuf JSON
// (86400s); tags as {key, value} mappings, "key=value" strings, or one
// mapping of key to value. Numbers in string fields keep their digits
// (an unquoted account ID such as 012345678901 stays as written). Errors
// name the file and line: "sweep.yaml:7: regions[1]: ...".
func decodeSpec(data []byte, name string) (*sweepv1.SweepSpec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	spec := &sweepv1.SweepSpec{}
	if len(doc.Content) == 0 {
		return spec, nil
	}
	if err := decodeMessage(doc.Content[0], spec.ProtoReflect(), ""); err != nil {
		return nil, fmt.Errorf("%s:%w", name, err)
	}
	return spec, nil
}

// nodeError is an error at a node: "12: regions[1]: want a string".
func nodeError(n *yaml.Node, path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	return fmt.Errorf("%d: %s", n.Line, msg)
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func decodeMessage(n *yaml.Node, m protoreflect.Message, path string) error {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return nodeError(n, path, "want a mapping of field names to values")
	}
	fields := m.Descriptor().Fields()
	seen := map[protoreflect.FieldNumber]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		fd := fields.ByName(protoreflect.Name(k.Value))
		if fd == nil {
			fd = fields.ByJSONName(k.Value)
		}
		if fd == nil {
			var known []string
			for j := 0; j < fields.Len(); j++ {
				known = append(known, string(fields.Get(j).Name()))
			}
			return nodeError(k, path, "unknown field %q; known fields: %s", k.Value, strings.Join(known, ", "))
		}
		if prev, dup := seen[fd.Number()]; dup {
			return nodeError(k, path, "%q repeats %q", k.Value, prev)
		}
		seen[fd.Number()] = k.Value
		fpath := string(fd.Name())
		if path != "" {
			fpath = path + "." + fpath
		}
		if err := decodeField(v, m, fd, fpath); err != nil {
			return err
		}
	}
	return nil
}

func decodeField(n *yaml.Node, m protoreflect.Message, fd protoreflect.FieldDescriptor, path string) error {
	n = resolve(n)
	if isNull(n) {
		m.Clear(fd)
		return nil
	}
	if !fd.IsList() {
		v, err := decodeValue(n, fd, func() protoreflect.Message { return m.NewField(fd).Message() }, path)
		if err != nil {
			return err
		}
		m.Set(fd, v)
		return nil
	}
	list := m.Mutable(fd).List()
	list.Truncate(0)
	var items []*yaml.Node
	switch {
	case n.Kind == yaml.SequenceNode:
		items = n.Content
	case n.Kind == yaml.MappingNode && fd.Message() != nil && fd.Message().FullName() == tagName:
		// include_tags: {env: prod, team: ""}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
			if v.Kind != yaml.ScalarNode {
				return nodeError(v, fmt.Sprintf("%s[%s]", path, k.Value), "want a tag value")
			}
			val := v.Value
			if isNull(v) {
				val = ""
			}
			list.Append(protoreflect.ValueOfMessage((&sweepv1.Tag{Key: k.Value, Value: val}).ProtoReflect()))
		}
		return nil
	case n.Kind == yaml.ScalarNode && n.Value == "":
		return nil // regions: ""
	case n.Kind == yaml.ScalarNode:
		items = []*yaml.Node{n} // one value for a list of one
	default:
		return nodeError(n, path, "want a list")
	}
	for i, item := range items {
		v, err := decodeValue(resolve(item), fd, func() protoreflect.Message { return list.NewElement().Message() }, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return err
		}
		list.Append(v)
	}
	return nil
}

const (
	tagName      = protoreflect.FullName("dpsweep.sweep.v1.Tag")
	durationName = protoreflect.FullName("google.protobuf.Duration")
)

func decodeValue(n *yaml.Node, fd protoreflect.FieldDescriptor, newMsg func() protoreflect.Message, path string) (protoreflect.Value, error) {
	if fd.Kind() == protoreflect.MessageKind {
		switch fd.Message().FullName() {
		case durationName:
			if n.Kind != yaml.ScalarNode {
				return protoreflect.Value{}, nodeError(n, path, "want a duration such as 24h or 86400s")
			}
			d, err := time.ParseDuration(n.Value)
			if err != nil {
				return protoreflect.Value{}, nodeError(n, path, "%q is not a duration such as 24h or 86400s", n.Value)
			}
			return protoreflect.ValueOfMessage(durationpb.New(d).ProtoReflect()), nil
		case tagName:
			if n.Kind == yaml.ScalarNode {
				return protoreflect.ValueOfMessage(parseTag(n.Value).ProtoReflect()), nil
			}
		}
		msg := newMsg()
		if err := decodeMessage(n, msg, path); err != nil {
			return protoreflect.Value{}, err
		}
		return protoreflect.ValueOfMessage(msg), nil
	}
	if n.Kind != yaml.ScalarNode {
		return protoreflect.Value{}, nodeError(n, path, "want a single value, not a %s", kindName(n))
	}
	s := n.Value
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(s), nil
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return protoreflect.Value{}, nodeError(n, path, "%q is not true or false", s)
		}
		return protoreflect.ValueOfBool(b), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		i, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return protoreflect.Value{}, nodeError(n, path, "%q is not a whole number", s)
		}
		return protoreflect.ValueOfInt32(int32(i)), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return protoreflect.Value{}, nodeError(n, path, "%q is not a whole number", s)
		}
		return protoreflect.ValueOfInt64(i), nil
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return protoreflect.Value{}, nodeError(n, path, "%q is not a number", s)
		}
		if fd.Kind() == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f)), nil
		}
		return protoreflect.ValueOfFloat64(f), nil
	case protoreflect.EnumKind:
		e, err := parseEnum(fd.Enum(), s)
		if err != nil {
			return protoreflect.Value{}, nodeError(n, path, "%v", err)
		}
		return protoreflect.ValueOfEnum(e), nil
	}
	return protoreflect.Value{}, nodeError(n, path, "fields of kind %s are not supported in a config file", fd.Kind())
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	}
	return "value"
}

// specFields are the lines describing a spec, for status and schedule views.
func specFields(s *sweepv1.SweepSpec) [][2]string {
	var out [][2]string
	add := func(k, v string) {
		if v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	list := func(vals []string) string { return strings.Join(vals, ", ") }
	tags := func(ts []*sweepv1.Tag) string {
		var parts []string
		for _, t := range ts {
			if t.GetValue() == "" {
				parts = append(parts, t.GetKey())
			} else {
				parts = append(parts, t.GetKey()+"="+t.GetValue())
			}
		}
		sort.Strings(parts)
		return strings.Join(parts, ", ")
	}
	if len(s.GetRegions()) == 0 {
		add("Regions", "every enabled region")
	} else {
		add("Regions", list(s.GetRegions()))
	}
	add("Accounts", list(s.GetIncludeAccountIds()))
	add("Not accounts", list(s.GetExcludeAccountIds()))
	add("OUs", list(s.GetIncludeOuIds()))
	add("Not OUs", list(s.GetExcludeOuIds()))
	add("Tags", tags(s.GetIncludeTags()))
	add("Not tags", tags(s.GetExcludeTags()))
	add("Role", s.GetRoleName())
	if s.GetExternalId() != "" {
		add("ExternalId", "set")
	}
	if n := s.GetMaxConcurrentAccounts(); n != 0 {
		add("Concurrency", fmt.Sprintf("%d accounts", n))
	}
	if r := s.GetApiRequestsPerSecond(); r != 0 {
		add("Rate", strconv.FormatFloat(r, 'f', -1, 64)+" requests/s per account")
	}
	if s.GetUseFipsEndpoints() {
		add("FIPS", "yes")
	}
	add("Controls", list(s.GetControlIds()))
	var formats []string
	for _, f := range s.GetReportFormats() {
		formats = append(formats, enumShort(reportFormatEnum, protoreflect.EnumNumber(f)))
	}
	add("Formats", list(formats))
	if w := s.GetLookupEventsWindow(); w != nil {
		add("Events window", w.AsDuration().String())
	}
	return out
}
