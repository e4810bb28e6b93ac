// Command dpsweep-sweep serves dpsweep's SweepService over gRPC.
package main

import (
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/sweep"
)

func main() {
	server.Main(server.Service{Name: "sweep", DefaultAddr: sweep.DefaultAddr, Register: sweep.Register})
}
