#!/usr/bin/env bash
# Fetches protovalidate's validate.proto at a pinned version through the Go
# module proxy (the buf Schema Registry cannot be reached from every machine)
# and puts it where buf.yaml expects it. Usage: fetch-protovalidate.sh VERSION DEST
set -euo pipefail
version=$1 dest=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
dir=$(GOWORK=off GOFLAGS=-mod=mod go mod download -json "github.com/bufbuild/protovalidate@$version" |
  sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -f "$dir/proto/protovalidate/buf/validate/validate.proto" ] || { echo "fetch-protovalidate: validate.proto not found in $dir" >&2; exit 1; }
rm -rf "$dest"; mkdir -p "$dest/buf/validate"
cp "$dir/proto/protovalidate/buf/validate/validate.proto" "$dest/buf/validate/"
chmod -R u+w "$dest"
