module github.com/dpsweep/dpsweep/cmd/dpsweep

go 1.26.0

require (
	github.com/dpsweep/dpsweep/awssim v0.0.0
	github.com/dpsweep/dpsweep/gen v0.0.0
	github.com/dpsweep/dpsweep/services/collection v0.0.0
	github.com/dpsweep/dpsweep/services/evaluation v0.0.0
	github.com/dpsweep/dpsweep/services/platform v0.0.0
	github.com/dpsweep/dpsweep/services/redaction v0.0.0
	github.com/dpsweep/dpsweep/services/reporting v0.0.0
	github.com/dpsweep/dpsweep/services/sweep v0.0.0
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go v1.36.12-20260825204119-511051f7f437.2 // indirect
	buf.build/go/protovalidate v1.4.0 // indirect
	cel.dev/cel-go v0.32.0 // indirect
	cel.dev/expr v0.25.3 // indirect
	github.com/antlr4-go/antlr/v4 v4.13.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/servicecatalog v1.39.17 // indirect
	github.com/nyaruka/phonenumbers v1.8.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/exp v0.0.0-20260820142414-ca536658362e // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20260819154853-08b0e4226688 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261104224025-d1e00e9f33ab // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace (
	github.com/dpsweep/dpsweep/awssim => ../../awssim
	github.com/dpsweep/dpsweep/gen => ../../gen
	github.com/dpsweep/dpsweep/services/collection => ../../services/collection
	github.com/dpsweep/dpsweep/services/evaluation => ../../services/evaluation
	github.com/dpsweep/dpsweep/services/platform => ../../services/platform
	github.com/dpsweep/dpsweep/services/redaction => ../../services/redaction
	github.com/dpsweep/dpsweep/services/reporting => ../../services/reporting
	github.com/dpsweep/dpsweep/services/sweep => ../../services/sweep
)
