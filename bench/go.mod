module github.com/dpsweep/dpsweep/bench

go 1.26.0

require (
	github.com/aws/aws-sdk-go-v2 v1.48.0
	github.com/dpsweep/dpsweep/gen v0.0.0
	github.com/dpsweep/dpsweep/services/redaction v0.0.0-00010101000000-000000000000
	google.golang.org/grpc v1.85.0
)

require (
	buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go v1.36.12-20260825204119-511051f7f437.2 // indirect
	github.com/aws/smithy-go v1.28.9 // indirect
	github.com/nyaruka/phonenumbers v1.8.1 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261104224025-d1e00e9f33ab // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace (
	github.com/dpsweep/dpsweep/gen => ../gen
	github.com/dpsweep/dpsweep/services/platform => ../services/platform
	github.com/dpsweep/dpsweep/services/redaction => ../services/redaction
)
