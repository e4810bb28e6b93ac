# syntax=docker/dockerfile:1.12
# dpsweep-worker. Build from the repository root (the go.work workspace is the context):
#   docker build -f deploy/docker/worker.Dockerfile -t dpsweep-worker:dev .
# BuildKit (the default builder since Docker 23) is required for the cache and bind mounts.

# Builder: the Go toolchain the workspace pins (go.work says go 1.26.0), a static binary.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOOS=linux GOTOOLCHAIN=local GOFLAGS=-trimpath
RUN --mount=type=bind,target=/src \
    --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w" -o /out/dpsweep-worker ./workflows/cmd/dpsweep-worker

# Runtime: distroless static (CA certificates, tzdata, /etc/passwd; no shell), as nonroot.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dpsweep-worker /usr/local/bin/dpsweep-worker
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/dpsweep-worker"]
