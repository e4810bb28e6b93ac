# syntax=docker/dockerfile:1.12
# dpsweep-reporting. Build from the repository root (the go.work workspace is the context):
#   docker build -f deploy/docker/reporting.Dockerfile -t dpsweep-reporting:dev .
# BuildKit (the default builder since Docker 23) is required for the cache and bind mounts.

# Builder: the Go toolchain the workspace pins (go.work says go 1.26.0), a static binary.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOOS=linux GOTOOLCHAIN=local GOFLAGS=-trimpath
# grpc_health_probe for the compose healthcheck (Kubernetes uses its native gRPC probe).
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOWORK=off GOBIN=/out go install -ldflags="-s -w" github.com/grpc-ecosystem/grpc-health-probe@v0.4.61 && \
    mv /out/grpc-health-probe /out/grpc_health_probe
RUN --mount=type=bind,target=/src \
    --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w" -o /out/dpsweep-reporting ./services/reporting/cmd/dpsweep-reporting

# Runtime: distroless static (CA certificates, tzdata, /etc/passwd; no shell), as nonroot.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dpsweep-reporting /usr/local/bin/dpsweep-reporting
COPY --from=build /out/grpc_health_probe /usr/local/bin/grpc_health_probe
USER 65532:65532
# Listen on every interface inside the container (the binary's default is 127.0.0.1:7404).
ENV DPSWEEP_REPORTING_ADDR=:7404
EXPOSE 7404
ENTRYPOINT ["/usr/local/bin/dpsweep-reporting"]
