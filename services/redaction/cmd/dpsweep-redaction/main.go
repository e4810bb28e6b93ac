// Command dpsweep-redaction serves dpsweep's RedactionService over gRPC.
package main

import (
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/redaction"
)

func main() {
	cfg := redaction.DefaultConfig()
	server.Main(server.Service{Name: "redaction", DefaultAddr: redaction.DefaultAddr, Flags: cfg.RegisterFlags, Register: cfg.Register})
}
