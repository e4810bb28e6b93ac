package main

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// A stand-in for buf/validate/validate.proto with the few rules the test uses,
// at protovalidate's own field numbers.
const validateProto = `
name: "buf/validate/validate.proto" package: "buf.validate" syntax: "proto2"
dependency: "google/protobuf/descriptor.proto"
options { go_package: "example.com/validate" }
message_type { name: "StringRules"
  field { name: "max_len" number: 3 label: LABEL_OPTIONAL type: TYPE_UINT64 }
  field { name: "pattern" number: 6 label: LABEL_OPTIONAL type: TYPE_STRING } }
message_type { name: "FieldRules"
  field { name: "string" number: 14 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".buf.validate.StringRules" }
  field { name: "required" number: 25 label: LABEL_OPTIONAL type: TYPE_BOOL } }
extension { name: "field" number: 1159 label: LABEL_OPTIONAL type: TYPE_MESSAGE
  type_name: ".buf.validate.FieldRules" extendee: ".google.protobuf.FieldOptions" }
`

const demoProto = `
name: "demo/v1/demo.proto" package: "demo.v1" syntax: "proto3"
dependency: "buf/validate/validate.proto"
options { go_package: "example.com/demo/v1;demov1" }
service { name: "Greeter" method { name: "Greet" input_type: ".demo.v1.GreetRequest" output_type: ".demo.v1.GreetReply" server_streaming: true } }
message_type { name: "GreetRequest"
  field { name: "name" json_name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "mood" json_name: "mood" number: 2 label: LABEL_OPTIONAL type: TYPE_ENUM type_name: ".demo.v1.Mood" }
  field { name: "tags" json_name: "tags" number: 3 label: LABEL_REPEATED type: TYPE_STRING } }
message_type { name: "GreetReply"
  field { name: "text" json_name: "text" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING } }
enum_type { name: "Mood" value { name: "MOOD_UNSPECIFIED" number: 0 } value { name: "MOOD_HAPPY" number: 1 } }
source_code_info {
  location { path: [6, 0] span: [0, 0, 0] leading_comments: " Greeter greets.\n On two lines.\n" }
  location { path: [6, 0, 2, 0] span: [0, 0, 0] leading_comments: " Greet says hello | goodbye.\n" }
  location { path: [4, 0, 2, 0] span: [0, 0, 0] leading_comments: " Who to greet, as <name>.\n" }
  location { path: [5, 0, 2, 1] span: [0, 0, 0] trailing_comments: " In a good mood.\n" }
}
`

func mustFile(t *testing.T, text string) *descriptorpb.FileDescriptorProto {
	t.Helper()
	f := &descriptorpb.FileDescriptorProto{}
	if err := prototext.Unmarshal([]byte(text), f); err != nil {
		t.Fatal(err)
	}
	return f
}

// generateFor runs the plugin on demo.proto and returns its files by name.
func generateFor(t *testing.T) map[string]string {
	t.Helper()
	demo := mustFile(t, demoProto)
	// (buf.validate.field) = {required: true, string: {max_len: 64, pattern: "^(a|b)$"}} on
	// GreetRequest.name, as protoc hands it to a plugin that does not link
	// protovalidate: unknown bytes of FieldOptions.
	var str []byte
	str = protowire.AppendTag(str, 3, protowire.VarintType)
	str = protowire.AppendVarint(str, 64)
	str = protowire.AppendTag(str, 6, protowire.BytesType)
	str = protowire.AppendString(str, "^(a|b)$")
	var rules []byte
	rules = protowire.AppendTag(rules, 14, protowire.BytesType)
	rules = protowire.AppendBytes(rules, str)
	rules = protowire.AppendTag(rules, 25, protowire.VarintType)
	rules = protowire.AppendVarint(rules, 1)
	var opts []byte
	opts = protowire.AppendTag(opts, 1159, protowire.BytesType)
	opts = protowire.AppendBytes(opts, rules)
	fo := &descriptorpb.FieldOptions{}
	fo.ProtoReflect().SetUnknown(opts)
	demo.MessageType[0].Field[0].Options = fo

	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: []string{"demo/v1/demo.proto"},
		ProtoFile: []*descriptorpb.FileDescriptorProto{
			protodesc.ToFileDescriptorProto(descriptorpb.File_google_protobuf_descriptor_proto),
			mustFile(t, validateProto), demo,
		},
	}
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := generate(gen); err != nil {
		t.Fatal(err)
	}
	resp := gen.Response()
	if resp.Error != nil {
		t.Fatal(resp.GetError())
	}
	out := map[string]string{}
	for _, f := range resp.File {
		out[f.GetName()] = f.GetContent()
	}
	return out
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	out := generateFor(t)
	if len(out) != 2 || out["README.md"] == "" || out["demo.v1.md"] == "" {
		t.Fatalf("files = %v, want README.md and demo.v1.md", len(out))
	}
	page := out["demo.v1.md"]
	for _, want := range []string{
		"# demo.v1",
		"[`demo/v1/demo.proto`](../../proto/demo/v1/demo.proto)",
		"### Greeter\n\nGreeter greets.\nOn two lines.\n",
		"| `Greet` | [`GreetRequest`](#greetrequest) | stream [`GreetReply`](#greetreply) | Greet says hello \\| goodbye. |",
		"| `name` | 1 | `string` | Who to greet, as \\<name>. | `string.max_len = 64`<br>`string.pattern = \"^(a\\|b)$\"`<br>`required` |",
		"| `mood` | 2 | [`Mood`](#mood) |  |  |",
		"| `tags` | 3 | repeated `string` |  |  |",
		"| `MOOD_HAPPY` | 1 | In a good mood. |",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("demo.v1.md lacks %q; got:\n%s", want, page)
		}
	}
	if !strings.Contains(out["README.md"], "| [`demo.v1`](demo.v1.md) | [Greeter](demo.v1.md#greeter) | 1 | 2 | 1 |") {
		t.Errorf("README.md lacks the package row; got:\n%s", out["README.md"])
	}
	if again := generateFor(t); again["demo.v1.md"] != page {
		t.Error("two runs differ: the output must be deterministic")
	}
}

func TestAnchor(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"SweepSpec":         "sweepspec",
		"Outer.Inner":       "outerinner",
		"Two words_here-ok": "two-words_here-ok",
	} {
		if got := anchor(in); got != want {
			t.Errorf("anchor(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCodeSpan(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain":        "`plain`",
		"a `tick` in":  "``a `tick` in``",
		"`edge":        "`` `edge ``",
		"two `` ticks": "```two `` ticks```",
	} {
		if got := codeSpan(in); got != want {
			t.Errorf("codeSpan(%q) = %q, want %q", in, got, want)
		}
	}
}
