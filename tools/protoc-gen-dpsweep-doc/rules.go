package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// rule is one protovalidate rule as the reference shows it: code such as
// string.max_len = 64, and for CEL rules the rule's own message as a note.
type rule struct {
	code, note string
}

// ruleReader reads protovalidate's options (buf.validate.field, .message,
// .oneof) from descriptors. The plugin links no generated protovalidate
// code: the options arrive as unknown fields, and are decoded again with
// dynamic types built from validate.proto, which the request carries as a
// dependency of every file that uses it.
type ruleReader struct {
	types                 *dynamicpb.Types
	field, message, oneof protoreflect.ExtensionType
}

func newRuleReader(gen *protogen.Plugin) (*ruleReader, error) {
	files := new(protoregistry.Files)
	for _, f := range gen.Files {
		if err := files.RegisterFile(f.Desc); err != nil {
			return nil, fmt.Errorf("register %s: %w", f.Desc.Path(), err)
		}
	}
	r := &ruleReader{types: dynamicpb.NewTypes(files)}
	// Absent when no file imports validate.proto: then there are no rules.
	r.field, _ = r.types.FindExtensionByName("buf.validate.field")
	r.message, _ = r.types.FindExtensionByName("buf.validate.message")
	r.oneof, _ = r.types.FindExtensionByName("buf.validate.oneof")
	return r, nil
}

func (r *ruleReader) fieldRules(f *protogen.Field) []rule {
	return r.read(f.Desc.Options(), r.field)
}

func (r *ruleReader) messageRules(m *protogen.Message) []rule {
	return r.read(m.Desc.Options(), r.message)
}

func (r *ruleReader) oneofRules(o *protogen.Oneof) []rule {
	return r.read(o.Desc.Options(), r.oneof)
}

// read decodes the extension xt of opts (a descriptor's options message)
// and flattens it into rules, in the order of the rule messages' fields.
func (r *ruleReader) read(opts proto.Message, xt protoreflect.ExtensionType) []rule {
	if xt == nil || opts == nil {
		return nil
	}
	b, err := proto.Marshal(opts)
	if err != nil || len(b) == 0 {
		return nil
	}
	// Decoded as a dynamic message of the options type that the extension
	// extends (descriptor.proto as the request carries it), so that the
	// dynamic extension type applies.
	fresh := dynamicpb.NewMessage(xt.TypeDescriptor().ContainingMessage())
	if err := (proto.UnmarshalOptions{Resolver: r.types}).Unmarshal(b, fresh); err != nil {
		return nil
	}
	if !fresh.Has(xt.TypeDescriptor()) {
		return nil
	}
	return flatten("", fresh.Get(xt.TypeDescriptor()).Message())
}

// flatten turns a rules message into dotted paths with their values:
// string.pattern = "^a$", repeated.items.string.max_len = 64, required.
func flatten(prefix string, m protoreflect.Message) []rule {
	var out []rule
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		path := string(fd.Name())
		if prefix != "" {
			path = prefix + "." + path
		}
		v := m.Get(fd)
		switch {
		case fd.IsList() && fd.Message() != nil && fd.Message().FullName() == "buf.validate.Rule":
			for j := 0; j < v.List().Len(); j++ {
				out = append(out, celRule(v.List().Get(j).Message()))
			}
		case fd.IsList() && fd.Message() != nil:
			for j := 0; j < v.List().Len(); j++ {
				out = append(out, flatten(fmt.Sprintf("%s[%d]", path, j), v.List().Get(j).Message())...)
			}
		case fd.IsList():
			vals := make([]string, v.List().Len())
			for j := range vals {
				vals[j] = scalar(fd, v.List().Get(j))
			}
			out = append(out, rule{code: path + " = [" + strings.Join(vals, ", ") + "]"})
		case fd.IsMap():
			out = append(out, rule{code: path + " = " + fmt.Sprint(v.Interface())})
		case fd.Message() != nil:
			if s, ok := wellKnown(v.Message()); ok {
				out = append(out, rule{code: path + " = " + s})
				continue
			}
			sub := flatten(path, v.Message())
			if len(sub) == 0 {
				sub = []rule{{code: path}}
			}
			out = append(out, sub...)
		case fd.Kind() == protoreflect.BoolKind && v.Bool():
			out = append(out, rule{code: path})
		default:
			out = append(out, rule{code: path + " = " + scalar(fd, v)})
		}
	}
	return out
}

// celRule shows a CEL rule as its expression, with its message as the note.
func celRule(m protoreflect.Message) rule {
	get := func(name protoreflect.Name) string {
		fd := m.Descriptor().Fields().ByName(name)
		if fd == nil {
			return ""
		}
		return m.Get(fd).String()
	}
	note := get("message")
	if id := get("id"); id != "" {
		if note == "" {
			note = id
		} else {
			note = id + ": " + note
		}
	}
	return rule{code: get("expression"), note: note}
}

// wellKnown formats a Duration or Timestamp value as people write them.
func wellKnown(m protoreflect.Message) (string, bool) {
	fields := m.Descriptor().Fields()
	secs := func() int64 { return m.Get(fields.ByName("seconds")).Int() }
	nanos := func() int64 { return m.Get(fields.ByName("nanos")).Int() }
	switch m.Descriptor().FullName() {
	case "google.protobuf.Duration":
		// As people write them: 2160h and 1m, not 2160h0m0s and 1m0s.
		d := (time.Duration(secs())*time.Second + time.Duration(nanos())).String()
		if strings.HasSuffix(d, "m0s") {
			d = strings.TrimSuffix(d, "0s")
		}
		if strings.HasSuffix(d, "h0m") {
			d = strings.TrimSuffix(d, "0m")
		}
		return d, true
	case "google.protobuf.Timestamp":
		return time.Unix(secs(), nanos()).UTC().Format(time.RFC3339Nano), true
	}
	return "", false
}

func scalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return strconv.Quote(v.String())
	case protoreflect.BytesKind:
		return fmt.Sprintf("%q", v.Bytes())
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	}
	return fmt.Sprint(v.Interface())
}
