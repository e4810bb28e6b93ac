#!/usr/bin/env bash
# Sweep benchmarks through the whole stack in one process (a real Temporal
# server, the simulator, the services on 127.0.0.1, a sweep worker):
#   1. 1,000 accounts × 17 regions + global at 30 ms median / 50 ms p99 API
#      latency, against its lower bound (bench/sweep/main.go says how it is
#      computed; the server's trivial-activity rate is measured in the run);
#   2. 10,000 accounts × 1 region + global at 2 ms / 5 ms, for what
#      continue-as-new keeps in Temporal's histories.
#   bench/sweep/run.sh              # both; CONCURRENCY=120 accounts at once in part 1,
#                                   # WORKER_ACTIVITIES=2500 slots (120 × 18 scans at once)
#   bench/sweep/run.sh 1            # part 1 only (or 2)
# Extra flags for the program go in FLAGS, e.g. FLAGS='-cpuprofile /tmp/cpu.prof'.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
make -s temporal
bin=$(mktemp -d); trap 'rm -rf "$bin"' EXIT
go build -o "$bin/" ./bench/sweep
parts=${1:-1 2}
for part in $parts; do
  echo "== load before part $part: $(cut -d' ' -f1-3 /proc/loadavg)"
  case $part in
  1) "$bin/sweep" -accounts 1000 -regions 17 -latency 30ms -latency-p99 50ms -concurrency "${CONCURRENCY:-120}" \
       -worker-activities "${WORKER_ACTIVITIES:-2500}" ${FLAGS:-} ;;
  2) "$bin/sweep" -accounts 10000 -regions 1 -latency 2ms -latency-p99 5ms -concurrency "${CONCURRENCY2:-200}" ${FLAGS:-} ;;
  *) echo "unknown part $part (1 or 2)" >&2; exit 2 ;;
  esac
  echo
done
