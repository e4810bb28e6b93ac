#!/usr/bin/env bash
# install-deploy-tools.sh: install what the deploy/ tests validate the
# Kubernetes manifests with, at pinned versions, through the Go module proxy
# alone (no other download is possible on every machine):
#
#   - kubeconform (schema validator) and kustomize, by `GOWORK=off go install`,
#     like buf, so their dependency graphs never enter the workspace;
#   - the Kubernetes JSON schemas kubeconform reads. Its usual source is a
#     download from GitHub; instead, the k8s.io/kubernetes module at the pinned
#     version is fetched from the module proxy (`go mod download`), and its
#     api/openapi-spec/swagger.json is turned into kubeconform's standalone
#     strict schemas by deploy/cmd/k8s-schemas.
#
#   scripts/install-deploy-tools.sh KUBECONFORM_VERSION KUSTOMIZE_VERSION K8S_VERSION [DIR]
#
# DIR defaults to .cache/tools. It makes DIR/kubeconform-V/kubeconform,
# DIR/kustomize-V/kustomize and DIR/k8s-schemas-V/ (complete when its
# .complete file exists); whatever is already there is kept. Versions are kept
# in the Makefile (KUBECONFORM_VERSION, KUSTOMIZE_VERSION, K8S_SCHEMA_VERSION),
# which the tests read too.
set -euo pipefail

[ $# -ge 3 ] || { echo "usage: $0 KUBECONFORM_VERSION KUSTOMIZE_VERSION K8S_VERSION [DIR]" >&2; exit 2; }
kubeconform_version=$1 kustomize_version=$2 k8s_version=$3
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${4:-$root/.cache/tools}

log() { echo "install-deploy-tools: $*" >&2; }

# install DIR PACKAGE@VERSION BINARY: go install into DIR unless DIR/BINARY exists.
install() {
  [ -x "$1/$3" ] && return 0
  log "installing $2 into $1"
  mkdir -p "$1"
  local tmp
  tmp=$(mktemp -d "$1/.build.XXXXXX")
  GOWORK=off GOFLAGS= CGO_ENABLED=0 GOBIN="$tmp" go install -trimpath "$2"
  mv -f "$tmp/$3" "$1/$3"
  rm -rf "$tmp"
}

install "$tools/kubeconform-$kubeconform_version" "github.com/yannh/kubeconform/cmd/kubeconform@$kubeconform_version" kubeconform
install "$tools/kustomize-$kustomize_version" "sigs.k8s.io/kustomize/kustomize/v5@$kustomize_version" kustomize

schemas=$tools/k8s-schemas-$k8s_version
if [ ! -e "$schemas/.complete" ]; then
  log "fetching k8s.io/kubernetes@$k8s_version (its OpenAPI document) through the Go module proxy"
  dir=$(cd "$root" && GOWORK=off GOFLAGS= go mod download -json "k8s.io/kubernetes@$k8s_version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  spec=$dir/api/openapi-spec/swagger.json
  [ -f "$spec" ] || { log "no $spec"; exit 1; }
  rm -rf "$schemas"
  (cd "$root" && GOFLAGS= go run ./deploy/cmd/k8s-schemas -spec "$spec" -version "$k8s_version" -out "$schemas")
  touch "$schemas/.complete"
fi
