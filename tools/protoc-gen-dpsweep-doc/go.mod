module github.com/dpsweep/dpsweep/tools/protoc-gen-dpsweep-doc

go 1.26.0

require google.golang.org/protobuf v1.36.12
