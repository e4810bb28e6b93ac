package main

import (
	"context"
	"io"

	"github.com/dpsweep/dpsweep/awssim"
)

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return awssim.Main(ctx, "dpsweep sim", args, stdout, stderr)
}
