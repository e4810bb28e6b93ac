#!/usr/bin/env bash
# Fails when `buf generate` would change gen/, or the API reference in
# docs/api/ (buf.gen.docs.yaml): regenerates into a scratch copy of the tree
# and compares. Usage: check-generate.sh BUF
set -euo pipefail
buf=$1
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp -r "$root/proto" "$root/buf.yaml" "$root/buf.gen.yaml" "$root/buf.gen.docs.yaml" "$tmp/"
mkdir -p "$tmp/.cache" && cp -r "$root/.cache/proto" "$tmp/.cache/"
(cd "$tmp" && "$buf" generate && "$buf" generate --template buf.gen.docs.yaml)
if ! diff -r -q -x go.mod -x go.sum -x '*.go.orig' "$tmp/gen" "$root/gen" >/dev/null 2>&1; then
  # Show what differs, ignoring the module files that live only in the tree.
  diff -r -u -x go.mod -x go.sum "$root/gen" "$tmp/gen" | head -50 || true
  echo "check-generate: gen/ is stale; run 'make generate' and commit the result" >&2
  exit 1
fi
echo "check-generate: gen/ matches proto/"
if ! diff -r -q "$tmp/docs/api" "$root/docs/api" >/dev/null 2>&1; then
  diff -r -u -N "$root/docs/api" "$tmp/docs/api" | head -50 || true
  echo "check-generate: docs/api/ is stale; run 'make generate' and commit the result" >&2
  exit 1
fi
echo "check-generate: docs/api/ matches proto/"
