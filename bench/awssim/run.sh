#!/usr/bin/env bash
# AWS simulator benchmarks: world generation at 10,000 accounts, requests per
# second through aws-sdk-go-v2 (client and server in one process), and the
# server's own rate under wrk (Debian package wrk, installed if missing)
# replaying a signed iam:ListUsers.
#   bench/awssim/run.sh        # DURATION=15s
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if ! command -v wrk >/dev/null; then
  echo "installing wrk..."
  apt-get install -y -q wrk >/dev/null
fi
bin=$(mktemp -d); trap 'kill $sim 2>/dev/null || true; rm -rf "$bin"' EXIT
go build -o "$bin/" ./awssim/cmd/dpsweep-sim ./bench/awssim
echo "== world generation and SDK round trips (go test -bench)"
go test -run '^$' -bench 'Generate10k' -benchmem -benchtime 2x ./awssim/world/ | grep -E '^Benchmark'
go test -run '^$' -bench 'BenchmarkServer$|BenchmarkServerRaw' -benchtime 3s ./awssim/server/ | grep -E '^Benchmark'
echo
echo "== server under wrk (signatures verified)"
port=$((20000 + RANDOM % 20000))
"$bin/dpsweep-sim" --accounts 3 --addr "127.0.0.1:$port" >/dev/null &
sim=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/_sim/faults" >/dev/null && break; sleep 0.1; done
creds=$(curl -sf "http://127.0.0.1:$port/_sim/credentials")
ak=$(echo "$creds" | sed -n 's/.*"AccessKeyId":"\([^"]*\)".*/\1/p')
sk=$(echo "$creds" | sed -n 's/.*"SecretAccessKey":"\([^"]*\)".*/\1/p')
"$bin/awssim" -url "http://127.0.0.1:$port" -access-key "$ak" -secret-key "$sk" > "$bin/req.lua"
wrk -t2 -c32 -d"${DURATION:-15s}" -s "$bin/req.lua" --latency "http://127.0.0.1:$port/" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
