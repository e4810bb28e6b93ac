// Command dpsweep-reporting serves dpsweep's ReportingService over gRPC.
package main

import (
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/reporting"
)

func main() {
	cfg := reporting.DefaultConfig()
	server.Main(server.Service{Name: "reporting", DefaultAddr: reporting.DefaultAddr, Flags: cfg.RegisterFlags, Register: cfg.Register})
}
