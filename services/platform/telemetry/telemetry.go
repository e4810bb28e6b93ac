// Package telemetry is dpsweep's observability plumbing: Prometheus metrics
// served over HTTP, OpenTelemetry traces exported over OTLP/gRPC, the gRPC
// server and client instrumentation every service and activity shares, and
// the sweep, account and region identifiers that logs and spans carry.
//
// Metrics and traces never carry request payloads, collected text or
// secrets: metric labels are service, method, code, entity type, severity,
// status and AWS operation names, all from bounded sets.
package telemetry

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Registry holds every dpsweep metric and the Go runtime and process
// collectors; the metrics endpoint serves it. It is not Prometheus's
// default registry, so a library that registers there adds nothing here.
var Registry = prometheus.NewRegistry()

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// MustRegister registers metrics on Registry; it panics on a conflict (two
// metrics with one name), which is a programming error.
func MustRegister(cs ...prometheus.Collector) {
	Registry.MustRegister(cs...)
}

// Config is what a process reads from its flags and environment.
type Config struct {
	// MetricsAddr is where /metrics is served (host:port); empty serves no metrics.
	MetricsAddr string
	// OTLPEndpoint is the OTLP/gRPC trace collector: host:port (plaintext),
	// http://host:port (plaintext) or https://host:port (TLS). Empty means
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, and
	// without either no traces are exported.
	OTLPEndpoint string
}

// RegisterFlags defines --metrics-address and --otlp-endpoint.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.MetricsAddr, "metrics-address", c.MetricsAddr, "serve Prometheus metrics at http://<host:port>/metrics (port 0 picks a free port; empty: no metrics endpoint)")
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", c.OTLPEndpoint, "export traces over OTLP/gRPC to this collector (host:port or http://host:port plaintext, https://host:port TLS; default $OTEL_EXPORTER_OTLP_ENDPOINT; empty: no traces)")
}

// Telemetry is a process's running observability: the metrics endpoint and
// the trace exporter. Shutdown flushes the spans still buffered.
type Telemetry struct {
	metricsAddr string
	srv         *http.Server
	tp          *sdktrace.TracerProvider
}

// MetricsAddr is the bound address of the metrics endpoint ("" when off).
func (t *Telemetry) MetricsAddr() string { return t.metricsAddr }

// Tracing reports whether spans are exported.
func (t *Telemetry) Tracing() bool { return t.tp != nil }

// Start sets the process's trace context propagation (W3C trace context and
// baggage, always, so a process without an exporter still passes a trace
// on), exports traces when an endpoint is configured, and serves metrics
// when an address is. process names the process in traces ("redaction",
// "worker"); getenv reads the OTEL_* environment. Call Shutdown on the
// result when the process ends.
func Start(ctx context.Context, c Config, process string, getenv func(string) string, log *slog.Logger) (*Telemetry, error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	t := &Telemetry{}
	endpoint := c.OTLPEndpoint
	fromEnv := endpoint == "" && (getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "")
	if endpoint != "" || fromEnv {
		var opts []otlptracegrpc.Option
		if endpoint != "" {
			hostport, insecure, err := parseEndpoint(endpoint)
			if err != nil {
				return nil, err
			}
			opts = append(opts, otlptracegrpc.WithEndpoint(hostport))
			if insecure {
				opts = append(opts, otlptracegrpc.WithInsecure())
			}
		}
		exp, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("--otlp-endpoint: %w", err)
		}
		res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
			attribute.String("service.name", "dpsweep-"+process),
			attribute.String("service.namespace", "dpsweep"),
		))
		if err != nil {
			return nil, fmt.Errorf("trace resource: %w", err)
		}
		t.tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		otel.SetTracerProvider(t.tp)
		if endpoint == "" {
			endpoint = "$OTEL_EXPORTER_OTLP_ENDPOINT"
		}
		log.Info("exporting traces", "otlp_endpoint", endpoint)
	}
	if c.MetricsAddr != "" {
		lis, err := net.Listen("tcp", c.MetricsAddr)
		if err != nil {
			_ = t.Shutdown(ctx)
			return nil, fmt.Errorf("--metrics-address: listen on %s: %w", c.MetricsAddr, err)
		}
		t.metricsAddr = lis.Addr().String()
		t.srv = &http.Server{Handler: MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := t.srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics endpoint stopped", "err", err)
			}
		}()
		log.Info("serving metrics", "metrics_addr", t.metricsAddr, "path", "/metrics")
	}
	return t, nil
}

// MetricsHandler serves Registry at /metrics.
func MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry}))
	return mux
}

// Shutdown stops the metrics endpoint and flushes and stops the trace
// exporter, bounded by ctx.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if t.srv != nil {
		errs = append(errs, t.srv.Shutdown(ctx))
	}
	if t.tp != nil {
		errs = append(errs, t.tp.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// parseEndpoint splits an --otlp-endpoint into host:port and whether the
// connection is plaintext.
func parseEndpoint(s string) (hostport string, insecure bool, err error) {
	if !strings.Contains(s, "://") {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return "", false, fmt.Errorf("--otlp-endpoint %q: want host:port, http://host:port or https://host:port", s)
		}
		return s, true, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false, fmt.Errorf("--otlp-endpoint %q: want host:port, http://host:port or https://host:port", s)
	}
	return u.Host, u.Scheme == "http", nil
}
