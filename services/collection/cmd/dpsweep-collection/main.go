// Command dpsweep-collection serves dpsweep's CollectionService over gRPC.
package main

import (
	"github.com/dpsweep/dpsweep/services/collection"
	"github.com/dpsweep/dpsweep/services/platform/server"
)

func main() {
	cfg := collection.DefaultConfig()
	server.Main(server.Service{Name: "collection", DefaultAddr: collection.DefaultAddr, Flags: cfg.RegisterFlags, Register: cfg.Register})
}
