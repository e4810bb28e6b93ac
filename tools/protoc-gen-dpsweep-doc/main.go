// Command protoc-gen-dpsweep-doc is a protoc (buf) plugin that writes
// dpsweep's API reference in Markdown: one file per package with its
// services, RPCs, messages, fields and enums, their comments, and the
// protovalidate rules the services enforce, plus an index (README.md).
//
// It runs with `strategy: all` (buf.gen.docs.yaml) so that it sees every
// file at once. protovalidate's options are read from the request itself:
// buf/validate/validate.proto comes with it as a dependency, so the plugin
// needs no generated code of its own beyond google.golang.org/protobuf.
package main

import (
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/pluginpb"
)

func main() {
	protogen.Options{}.Run(func(gen *protogen.Plugin) error {
		gen.SupportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL)
		return generate(gen)
	})
}
