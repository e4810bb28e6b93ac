// Package tracing puts the OpenTelemetry trace of a sweep on its Temporal
// workflows and activities: the SweepService's client starts a workflow
// inside the caller's trace, workflows and activities continue it, and the
// activities' gRPC calls carry it on to the services (package
// services/platform/telemetry). Spans go to the process's tracer provider,
// so a process that exports no traces records none.
package tracing

import (
	"fmt"

	"go.opentelemetry.io/otel"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// Interceptor is Temporal's OpenTelemetry tracing interceptor over the
// process's tracer provider and propagator. On a client it traces starting,
// signalling and querying workflows; on a worker, workflows and activities.
func Interceptor() (interceptor.Interceptor, error) {
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		TextMapPropagator:       otel.GetTextMapPropagator(),
		AllowInvalidParentSpans: true,
		DisableQueryTracing:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("temporal tracing interceptor: %w", err)
	}
	return i, nil
}
