#!/usr/bin/env bash
# Sustained Redact load against the real dpsweep-redaction binary on
# 127.0.0.1: a fixed rate for MINUTES minutes, reporting per minute the
# latency percentiles, the errors (the run fails on any) and the server's RSS.
#   bench/redaction/load.sh            # 3 minutes at 1000 requests/s
#   MINUTES=10 RATE=2000 bench/redaction/load.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=$(mktemp -d); trap 'rm -rf "$bin"' EXIT
go build -o "$bin/" ./services/redaction/cmd/dpsweep-redaction ./bench/redaction
"$bin/redaction" -server "$bin/dpsweep-redaction" -rate "${RATE:-1000}" -duration "${MINUTES:-3}m" sustained
