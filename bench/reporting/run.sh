#!/usr/bin/env bash
# Findings store benchmarks: ListFindings (a page of 100 with its total) and
# RecordFindings on a one-million-finding sweep, on SQLite and PostgreSQL
# (go test -bench in services/reporting/store), then the same questions
# answered by jq over the sweep's JSON lines export and by the sqlite3
# command line over a table without indexes, with ratios. Installs jq and
# sqlite3 from Debian if missing; starts PostgreSQL with
# scripts/ci-postgres.sh unless DPSWEEP_TEST_POSTGRES names one (without
# one the PostgreSQL side is skipped).
#   bench/reporting/run.sh          # BENCHTIME=20x RUNS=3
# The stores are built once (a few minutes each) and kept: SQLite files under
# $TMPDIR/dpsweep-bench*, PostgreSQL schemas bench_* and baseline_reporting_*.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
for tool in jq sqlite3; do
  if ! command -v "$tool" >/dev/null; then
    echo "installing $tool..."
    apt-get install -y -q "$tool" >/dev/null
  fi
done
if [ -z "${DPSWEEP_TEST_POSTGRES:-}" ]; then
  DPSWEEP_TEST_POSTGRES=$(scripts/ci-postgres.sh || true)
fi
export DPSWEEP_TEST_POSTGRES
bin=$(mktemp -d); trap 'rm -rf "$bin"' EXIT
go build -o "$bin/" ./bench/reporting
echo "== go test -bench (store, both engines)"
(cd services/reporting && go test -run '^$' -bench . -benchtime "${BENCHTIME:-20x}" -timeout 60m ./store/) |
  grep -E '^(Benchmark|--- SKIP|    [a-z_]+\.go:)' || true
echo
echo "== ListFindings against jq and sqlite3 on the same findings"
"$bin/reporting" -runs "${RUNS:-3}" ${DPSWEEP_TEST_POSTGRES:+-postgres "$DPSWEEP_TEST_POSTGRES"}
