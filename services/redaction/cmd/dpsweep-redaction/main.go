// Command dpsweep-redaction serves dpsweep's RedactionService over gRPC.
package main

import (
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/redaction"
)

func main() {
	server.Main(server.Service{Name: "redaction", DefaultAddr: redaction.DefaultAddr, Register: redaction.Register})
}
