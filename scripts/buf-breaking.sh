#!/usr/bin/env bash
# buf breaking (FILE rules) for proto/ against a git baseline. The baseline is
# $BUF_BREAKING_AGAINST when set; otherwise HEAD while proto/ has uncommitted
# changes (checks what you are about to commit), else HEAD~1 (checks the
# newest commit, which is what CI sees). Usage: buf-breaking.sh BUF
set -euo pipefail
buf=$1
root=$(git rev-parse --show-toplevel)
cd "$root"
base=${BUF_BREAKING_AGAINST:-}
if [ -z "$base" ]; then
  if ! git diff --quiet HEAD -- proto 2>/dev/null || [ -n "$(git ls-files --others --exclude-standard proto)" ]; then
    base=HEAD
  else
    base=HEAD~1
  fi
fi
if ! git rev-parse -q --verify "$base^{commit}" >/dev/null || [ -z "$(git ls-tree -d "$base" proto)" ]; then
  echo "buf-breaking: $base has no proto/ to compare with; skipped"
  exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
git archive "$base" proto buf.yaml | tar -x -C "$tmp"
mkdir -p "$tmp/.cache" && cp -r .cache/proto "$tmp/.cache/"
"$buf" build "$tmp" -o "$tmp/base.binpb"
"$buf" build -o "$tmp/current.binpb"
# Both sides as single images, compared with the FILE rules of buf.yaml.
"$buf" breaking "$tmp/current.binpb" --against "$tmp/base.binpb" --config '{"version":"v2","breaking":{"use":["FILE"]}}'

echo "buf-breaking: no breaking change against $base"
