// Command dpsweep-evaluation serves dpsweep's EvaluationService over gRPC.
package main

import (
	"github.com/dpsweep/dpsweep/services/evaluation"
	"github.com/dpsweep/dpsweep/services/platform/server"
)

func main() {
	cfg := evaluation.DefaultConfig()
	server.Main(server.Service{Name: "evaluation", DefaultAddr: evaluation.DefaultAddr, Flags: cfg.RegisterFlags, Register: cfg.Register})
}
