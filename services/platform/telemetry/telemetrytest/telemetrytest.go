// Package telemetrytest holds test helpers for dpsweep's observability: a
// real OTLP/gRPC trace receiver on 127.0.0.1 and a Prometheus scrape over
// HTTP. It is imported only by tests.
package telemetrytest

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
)

// Span is one received span, flattened.
type Span struct {
	// Service is the resource's service.name ("dpsweep-redaction").
	Service                    string
	Name                       string
	TraceID, SpanID, ParentID  string
	Kind                       tracev1.Span_SpanKind
	Attributes                 map[string]string
	StartUnixNano, EndUnixNano uint64
}

// Receiver is an OTLP/gRPC TraceService on a 127.0.0.1 listener that keeps
// every span exported to it.
type Receiver struct {
	collectortracev1.UnimplementedTraceServiceServer
	addr  string
	mu    sync.Mutex
	spans []Span
}

// NewReceiver starts a receiver; it stops when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{addr: lis.Addr().String()}
	s := grpc.NewServer()
	collectortracev1.RegisterTraceServiceServer(s, r)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return r
}

// Addr is the receiver's host:port (plaintext).
func (r *Receiver) Addr() string { return r.addr }

// Export implements the OTLP TraceService.
func (r *Receiver) Export(_ context.Context, req *collectortracev1.ExportTraceServiceRequest) (*collectortracev1.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				attrs := map[string]string{}
				for _, kv := range sp.GetAttributes() {
					attrs[kv.GetKey()] = anyValue(kv.GetValue())
				}
				r.spans = append(r.spans, Span{Service: service, Name: sp.GetName(), TraceID: hex.EncodeToString(sp.GetTraceId()),
					SpanID: hex.EncodeToString(sp.GetSpanId()), ParentID: hex.EncodeToString(sp.GetParentSpanId()), Kind: sp.GetKind(),
					Attributes: attrs, StartUnixNano: sp.GetStartTimeUnixNano(), EndUnixNano: sp.GetEndTimeUnixNano()})
			}
		}
	}
	return &collectortracev1.ExportTraceServiceResponse{}, nil
}

func anyValue(v interface {
	GetStringValue() string
	GetIntValue() int64
	GetBoolValue() bool
}) string {
	if s := v.GetStringValue(); s != "" {
		return s
	}
	if i := v.GetIntValue(); i != 0 {
		return fmt.Sprint(i)
	}
	if v.GetBoolValue() {
		return "true"
	}
	return ""
}

// Spans returns a copy of every span received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// WaitFor polls until cond holds for the spans received, or fails the test
// after timeout listing what did arrive.
func (r *Receiver) WaitFor(t testing.TB, timeout time.Duration, what string, cond func([]Span) bool) []Span {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		spans := r.Spans()
		if cond(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s; received %d spans:\n%s", what, timeout, len(spans), Describe(spans))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Describe lists spans one a line, for failure messages.
func Describe(spans []Span) string {
	var out string
	for _, s := range spans {
		out += fmt.Sprintf("  %s %q kind=%s trace=%s span=%s parent=%s\n", s.Service, s.Name, s.Kind, s.TraceID, s.SpanID, s.ParentID)
	}
	return out
}

// Scrape GETs http://addr/metrics and returns the body.
func Scrape(t testing.TB, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s\n%s", addr, resp.Status, body)
	}
	return string(body)
}

// Metrics is one scrape, parsed.
type Metrics map[string]*dto.MetricFamily

// Parse parses a scrape in the Prometheus text format.
func Parse(t testing.TB, body string) Metrics {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse metrics: %v\n%s", err, body)
	}
	return fams
}

// Value sums the samples of a family whose labels include every pair in
// labels: a counter's or gauge's value, a histogram's or summary's count.
// A family or series that is absent is 0.
func (m Metrics) Value(family string, labels map[string]string) float64 {
	f, ok := m[family]
	if !ok {
		return 0
	}
	var sum float64
	for _, s := range f.GetMetric() {
		if !hasLabels(s, labels) {
			continue
		}
		switch {
		case s.GetCounter() != nil:
			sum += s.GetCounter().GetValue()
		case s.GetGauge() != nil:
			sum += s.GetGauge().GetValue()
		case s.GetHistogram() != nil:
			sum += float64(s.GetHistogram().GetSampleCount())
		case s.GetSummary() != nil:
			sum += float64(s.GetSummary().GetSampleCount())
		case s.GetUntyped() != nil:
			sum += s.GetUntyped().GetValue()
		}
	}
	return sum
}

// LabelValues lists the values a family's series take for one label.
func (m Metrics) LabelValues(family, label string) []string {
	f, ok := m[family]
	if !ok {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range f.GetMetric() {
		for _, lp := range s.GetLabel() {
			if lp.GetName() == label && !seen[lp.GetValue()] {
				seen[lp.GetValue()] = true
				out = append(out, lp.GetValue())
			}
		}
	}
	return out
}

func hasLabels(s *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, lp := range s.GetLabel() {
			if lp.GetName() == k && lp.GetValue() == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
