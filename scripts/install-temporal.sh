#!/usr/bin/env bash
# install-temporal.sh: build the Temporal CLI (whose `temporal server start-dev`
# is the Temporal server of the demo, `dpsweep dev` and the end-to-end tests) at
# a pinned version through the Go module proxy, the way the Makefile installs
# buf: `GOWORK=off go install`, so go.temporal.io/server never enters the
# workspace and never moves the versions the modules build with.
#
#   scripts/install-temporal.sh [VERSION [DIR]]
#
# VERSION defaults to v1.5.1 (keep it in step with TEMPORAL_VERSION in the
# Makefile and devserver.Version in workflows/devserver); DIR defaults to
# .cache/tools/temporal-VERSION in the checkout. The binary is DIR/temporal and
# its path is the only thing printed on stdout; progress goes to stderr.
#
# When the binary is already there it returns at once. The first build compiles
# the Temporal server, UI server and SQLite (pure Go, CGO_ENABLED=0): several
# minutes and a few GB of memory. Concurrent runs wait for one another (flock),
# and the binary appears only when complete (built elsewhere, then renamed).
set -euo pipefail

version=${1:-v1.5.1}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${2:-$root/.cache/tools/temporal-$version}
bin=$dir/temporal
pkg=github.com/temporalio/cli/cmd/temporal

log() { echo "install-temporal: $*" >&2; }

if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

mkdir -p "$dir"
exec 9>"$dir/.lock"
if command -v flock >/dev/null; then
  flock -n 9 || { log "another build of the Temporal CLI $version is running; waiting for it"; flock 9; }
fi
# Another run may have finished while this one waited.
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
tmp=$(mktemp -d "$dir/.build.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
log "building the Temporal CLI $version ($pkg) with $(go env GOVERSION) into $dir"
log "the first build compiles the whole Temporal server: several minutes, a few GB of memory"
start=$(date +%s)
# GOFLAGS is cleared so a caller's -mod or -race cannot reach a build outside the workspace.
GOWORK=off GOFLAGS= CGO_ENABLED=0 GOBIN="$tmp" \
  go install -trimpath -ldflags "-X github.com/temporalio/cli/temporalcli.Version=${version#v}" "$pkg@$version"
mv -f "$tmp/temporal" "$bin"
log "built $bin in $(($(date +%s) - start))s: $("$bin" --version)"
echo "$bin"
