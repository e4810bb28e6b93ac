#!/usr/bin/env bash
# Installs what the example clients under examples/ need for the tests
# (tests/clients_test.go): the Node client's npm packages, exactly as
# examples/node/package-lock.json pins them. The Python client uses Debian's
# python3-grpcio and python3-grpc-tools, which this script only checks for
# (.ci/run installs them; elsewhere: apt-get install python3-grpcio python3-grpc-tools).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v npm >/dev/null || { echo "install-clients: npm not found: install Node.js 18.11 or later with npm" >&2; exit 1; }
# --ignore-scripts: neither package needs an install script to work.
(cd examples/node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

python=${DPSWEEP_TEST_PYTHON:-/usr/bin/python3}
if ! "$python" -c 'import grpc, grpc_tools.protoc, google.protobuf' 2>/dev/null; then
  echo "install-clients: warning: $python cannot import grpc and grpc_tools;" \
    "the Python client needs: apt-get install python3-grpcio python3-grpc-tools" >&2
fi
