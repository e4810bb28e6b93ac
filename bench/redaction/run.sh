#!/usr/bin/env bash
# Redaction benchmarks: engine and CLI throughput against gitleaks on the
# same generated corpora, and Redact RPC latency under load. Installs the
# pinned tools through the Go module proxy into .cache/tools.
#   bench/redaction/run.sh              # both, 16 MiB corpora, 30 s of load
#   SIZE=4 DURATION=10s bench/redaction/run.sh
#   SERVER_PROCS=1 bench/redaction/run.sh    # the server with GOMAXPROCS=1
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
GITLEAKS_VERSION=v8.30.1
GHZ_VERSION=v0.120.0
tools=$root/.cache/tools
gitleaks=$tools/gitleaks-$GITLEAKS_VERSION/gitleaks
ghz=$tools/ghz-$GHZ_VERSION/ghz
if [ ! -x "$gitleaks" ]; then
  echo "installing gitleaks $GITLEAKS_VERSION (built with gore2regex, as its releases are)..."
  GOWORK=off GOBIN=$(dirname "$gitleaks") go install -tags gore2regex "github.com/zricethezav/gitleaks/v8@$GITLEAKS_VERSION"
fi
if [ ! -x "$ghz" ]; then
  echo "installing ghz $GHZ_VERSION..."
  GOWORK=off GOBIN=$(dirname "$ghz") go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
fi
bin=$(mktemp -d); trap 'rm -rf "$bin"' EXIT
go build -o "$bin/" ./cmd/dpsweep ./services/redaction/cmd/dpsweep-redaction ./bench/redaction
echo "== go test -bench (engine and the service's part of a call, single core)"
go test -run '^$' -bench . -benchtime 2s -cpu 1 ./services/redaction/engine/ ./services/redaction/ | grep -E '^Benchmark'
echo
echo "== throughput against gitleaks $GITLEAKS_VERSION"
"$bin/redaction" -size "${SIZE:-16}" -gitleaks "$gitleaks" -dpsweep "$bin/dpsweep" throughput
echo
echo "== Redact latency"
"$bin/redaction" -server "$bin/dpsweep-redaction" -ghz "$ghz" -rate "${RATE:-5000}" -duration "${DURATION:-30s}" -server-procs "${SERVER_PROCS:-0}" latency
