// Command dpsweep-sweep serves dpsweep's SweepService over gRPC: the control
// plane that starts, inspects, cancels and schedules sweeps on Temporal.
package main

import (
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/sweep"
)

func main() {
	cfg := sweep.DefaultConfig()
	server.Main(server.Service{Name: "sweep", DefaultAddr: sweep.DefaultAddr, Flags: cfg.RegisterFlags, Register: cfg.Register})
}
