package devserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// InstallScript is the installer's path relative to the root of the checkout.
var InstallScript = filepath.Join("scripts", "install-temporal.sh")

// EnsureBinary returns the Temporal CLI's path like [FindBinary], and when
// there is none yet builds it once with scripts/install-temporal.sh from the
// nearest checkout above the working directory, telling os.Stderr that it
// does and how long it took. So `go run ./cmd/dpsweep demo` on a fresh
// machine needs only Go. A $DPSWEEP_TEMPORAL that names a missing file is an
// error, never a reason to build.
func EnsureBinary(ctx context.Context) (string, error) {
	return EnsureBinaryTo(ctx, os.Stderr)
}

// EnsureBinaryTo is EnsureBinary reporting progress to w (which may be nil).
func EnsureBinaryTo(ctx context.Context, w io.Writer) (string, error) {
	bin, err := FindBinary()
	if err == nil || os.Getenv(EnvBinary) != "" {
		return bin, err
	}
	if w == nil {
		w = io.Discard
	}
	root, err := checkoutRoot()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "Building the Temporal CLI %s once into %s (the first build compiles the Temporal server: several minutes and a few GB of memory; later runs reuse it)...\n",
		Version, filepath.Join(root, filepath.Dir(BinaryRelPath)))
	begin := time.Now()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, InstallScript), Version)
	cmd.Dir = root
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, w
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the Temporal CLI with %s: %w", InstallScript, err)
	}
	bin = strings.TrimSpace(stdout.String())
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%s reported %q: %w", InstallScript, bin, err)
	}
	fmt.Fprintf(w, "Temporal CLI %s ready in %v: %s\n", Version, time.Since(begin).Round(time.Second), bin)
	return bin, nil
}

// checkoutRoot is the nearest directory at or above the working directory
// that holds scripts/install-temporal.sh.
func checkoutRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if fi, err := os.Stat(filepath.Join(dir, InstallScript)); err == nil && !fi.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w, and no dpsweep checkout (with %s) at or above %s to build it from; set $%s to a Temporal CLI %s binary",
				ErrNoBinary, InstallScript, wd, EnvBinary, Version)
		}
		dir = parent
	}
}
