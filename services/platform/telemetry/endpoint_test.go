package telemetry

import (
	"context"
	"log/slog"
	"testing"
)

func TestParseEndpoint(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in       string
		hostport string
		insecure bool
		bad      bool
	}{
		"host:port is plaintext": {in: "127.0.0.1:4317", hostport: "127.0.0.1:4317", insecure: true},
		"http is plaintext":      {in: "http://collector:4317", hostport: "collector:4317", insecure: true},
		"https is TLS":           {in: "https://collector.example.org:4317", hostport: "collector.example.org:4317"},
		"no port":                {in: "collector", bad: true},
		"other scheme":           {in: "grpc://collector:4317", bad: true},
		"no host":                {in: "http://", bad: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hp, insecure, err := parseEndpoint(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("parseEndpoint(%q) = %q, %v; want an error", tc.in, hp, insecure)
				}
				return
			}
			if err != nil || hp != tc.hostport || insecure != tc.insecure {
				t.Fatalf("parseEndpoint(%q) = %q, %v, %v; want %q, %v", tc.in, hp, insecure, err, tc.hostport, tc.insecure)
			}
		})
	}
}

// TestStartOffAndFromEnvironment: nothing configured starts nothing; the
// standard OTEL_EXPORTER_OTLP_ENDPOINT alone turns tracing on; a bad
// endpoint or a busy metrics address is an error naming the flag.
func TestStartOffAndFromEnvironment(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	off, err := Start(ctx, Config{}, "test", func(string) string { return "" }, log)
	if err != nil {
		t.Fatal(err)
	}
	if off.Tracing() || off.MetricsAddr() != "" {
		t.Errorf("unconfigured: tracing %v, metrics %q; want both off", off.Tracing(), off.MetricsAddr())
	}
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}
	on, err := Start(ctx, Config{}, "test", func(k string) string { return env[k] }, log)
	if err != nil {
		t.Fatal(err)
	}
	if !on.Tracing() {
		t.Error("OTEL_EXPORTER_OTLP_ENDPOINT set: tracing is off")
	}
	_ = on.Shutdown(ctx)
	if _, err := Start(ctx, Config{OTLPEndpoint: "collector"}, "test", func(string) string { return "" }, log); err == nil {
		t.Error("--otlp-endpoint collector: want an error")
	}
	busy, err := Start(ctx, Config{MetricsAddr: "127.0.0.1:0"}, "test", func(string) string { return "" }, log)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Shutdown(ctx)
	if _, err := Start(ctx, Config{MetricsAddr: busy.MetricsAddr()}, "test", func(string) string { return "" }, log); err == nil {
		t.Error("a busy --metrics-address: want an error")
	}
}
