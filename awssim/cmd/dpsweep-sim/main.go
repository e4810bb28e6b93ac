// Command dpsweep-sim runs dpsweep's AWS Organization simulator.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dpsweep/dpsweep/awssim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := awssim.Main(ctx, "dpsweep-sim", os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "dpsweep-sim:", err)
		os.Exit(1)
	}
}
