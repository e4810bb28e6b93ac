# dpsweep developer tasks. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules
.DELETE_ON_ERROR:

# Pinned tool versions, installed through the Go module proxy into .cache/.
BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTOVALIDATE_PROTO_VERSION := v1.2.2
# The Temporal CLI, whose `temporal server start-dev` is the Temporal server of the
# demo, the dev stack and the end-to-end tests (workflows/devserver runs it).
TEMPORAL_VERSION := v1.5.1
# What the deploy/ tests validate the Kubernetes manifests with (scripts/install-deploy-tools.sh;
# the schemas are generated from the OpenAPI document of k8s.io/kubernetes at K8S_SCHEMA_VERSION).
KUBECONFORM_VERSION := v0.7.0
KUSTOMIZE_VERSION := v5.8.1
K8S_SCHEMA_VERSION := v1.35.4

CACHE := $(CURDIR)/.cache
TOOLS := $(CACHE)/tools
BUF := $(TOOLS)/buf-$(BUF_VERSION)/buf
PROTOC_GEN_GO := $(TOOLS)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION)/protoc-gen-go
PROTOC_GEN_GO_GRPC := $(TOOLS)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)/protoc-gen-go-grpc
PROTOVALIDATE_STAMP := $(CACHE)/proto/protovalidate/.version-$(PROTOVALIDATE_PROTO_VERSION)
TEMPORAL := $(TOOLS)/temporal-$(TEMPORAL_VERSION)/temporal
KUBECONFORM := $(TOOLS)/kubeconform-$(KUBECONFORM_VERSION)/kubeconform
KUSTOMIZE := $(TOOLS)/kustomize-$(KUSTOMIZE_VERSION)/kustomize
K8S_SCHEMAS := $(TOOLS)/k8s-schemas-$(K8S_SCHEMA_VERSION)/.complete
# The API reference's generator lives in the repository (tools/), built from source.
PROTOC_GEN_DOC := $(TOOLS)/protoc-gen-dpsweep-doc/protoc-gen-dpsweep-doc
PROTOC_GEN_DOC_SRC := $(wildcard tools/protoc-gen-dpsweep-doc/*.go) tools/protoc-gen-dpsweep-doc/go.mod tools/protoc-gen-dpsweep-doc/go.sum
export PATH := $(dir $(PROTOC_GEN_GO)):$(dir $(PROTOC_GEN_GO_GRPC)):$(dir $(PROTOC_GEN_DOC)):$(PATH)

# Every module of the workspace, for vet and tidy checks.
MODULES := $(shell go work edit -json | sed -n 's/.*"DiskPath": "\(.*\)".*/\1/p')

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: tools
tools: $(BUF) $(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC) $(PROTOC_GEN_DOC) $(PROTOVALIDATE_STAMP) ## Install the pinned code-generation tools.

$(BUF):
	GOWORK=off GOBIN=$(dir $@) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(PROTOC_GEN_GO):
	GOWORK=off GOBIN=$(dir $@) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(PROTOC_GEN_GO_GRPC):
	GOWORK=off GOBIN=$(dir $@) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(PROTOC_GEN_DOC): $(PROTOC_GEN_DOC_SRC)
	cd tools/protoc-gen-dpsweep-doc && GOWORK=off go build -o $@ .
$(PROTOVALIDATE_STAMP):
	scripts/fetch-protovalidate.sh $(PROTOVALIDATE_PROTO_VERSION) $(CACHE)/proto/protovalidate
	touch $@

.PHONY: temporal
temporal: $(TEMPORAL) ## Install the pinned Temporal CLI (the first build takes several minutes).

$(TEMPORAL):
	scripts/install-temporal.sh $(TEMPORAL_VERSION) $(@D) >/dev/null

# The example clients' npm packages (examples/node), as its package-lock.json pins them.
NODE_CLIENT_STAMP := examples/node/node_modules/.package-lock.json

.PHONY: clients
clients: $(NODE_CLIENT_STAMP) ## Install the example clients' npm packages (npm ci in examples/node).

$(NODE_CLIENT_STAMP): examples/node/package-lock.json
	scripts/install-clients.sh

.PHONY: deploy-tools
deploy-tools: $(KUBECONFORM) $(KUSTOMIZE) $(K8S_SCHEMAS) ## Install kubeconform, kustomize and the Kubernetes schemas the deploy/ tests use.

$(KUBECONFORM) $(KUSTOMIZE) $(K8S_SCHEMAS) &:
	scripts/install-deploy-tools.sh $(KUBECONFORM_VERSION) $(KUSTOMIZE_VERSION) $(K8S_SCHEMA_VERSION) $(TOOLS)

.PHONY: generate
generate: tools ## Regenerate gen/ and the API reference in docs/api/ from proto/.
	find gen -name '*.pb.go' -delete
	$(BUF) generate
	rm -f docs/api/*.md
	$(BUF) generate --template buf.gen.docs.yaml

.PHONY: check-generate
check-generate: tools ## Fail when regenerating gen/ or docs/api/ would change them.
	scripts/check-generate.sh $(BUF)

.PHONY: lint
lint: tools ## buf lint and breaking, gofmt, go vet.
	$(BUF) format --diff --exit-code proto
	$(BUF) lint
	scripts/buf-breaking.sh $(BUF)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: run 'gofmt -w' on the files above"; exit 1; }
	go vet $(addsuffix /...,$(MODULES))

.PHONY: test
test: check-generate lint temporal clients deploy-tools ## Everything CI runs: generated-code drift, lint, and every module's tests.
	DPSWEEP_TEMPORAL_REQUIRED=1 go test -race -count=1 -timeout 20m $(addsuffix /...,$(MODULES))
	$(MAKE) fuzz-short

# Plain `go test` already runs each fuzz target's seed corpus; this fuzzes each
# for FUZZTIME more (scripts/fuzz.sh DURATION for longer runs).
FUZZTIME ?= 5s
.PHONY: fuzz-short
fuzz-short: ## Run every fuzz target (func Fuzz* in *_test.go) for FUZZTIME (5s) each.
	scripts/fuzz.sh $(FUZZTIME)

.PHONY: test-short
test-short: ## Unit tests only, fast.
	go test -short -count=1 $(addsuffix /...,$(MODULES))

.PHONY: build
build: ## Build every binary into bin/.
	mkdir -p bin
	go build -o bin/ ./cmd/dpsweep ./services/collection/cmd/... ./services/evaluation/cmd/... ./services/redaction/cmd/... ./services/reporting/cmd/... ./services/sweep/cmd/...

.PHONY: tidy
tidy: ## go mod tidy in every module.
	for m in $(MODULES); do (cd $$m && go mod tidy); done
