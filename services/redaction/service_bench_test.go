package redaction

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
)

// BenchmarkServiceRedact measures the server's part of a Redact call that
// is not transport: decode the request, redact, encode the response. The
// text is the 1 KiB log text of bench/redaction's latency run.
func BenchmarkServiceRedact(b *testing.B) {
	s, err := New(Config{MaxTextBytes: 1 << 20}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	line := "2026-11-23T10:15:00Z INFO user jane.doe@example.org logged in from 203.0.113.45 using key AKIA2OGYBAH6STMMNXNN; request_id=4f1c2a9e-77b1-4c1d-9d2e-1f0a3b5c7d9e path=/api/v1/portfolios/port-abc123 status=200\n"
	text := strings.Repeat(line, 1024/len(line)+1)[:1024]
	in, err := proto.Marshal(&redactionv1.RedactRequest{Text: text})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		var req redactionv1.RedactRequest
		if err := proto.Unmarshal(in, &req); err != nil {
			b.Fatal(err)
		}
		resp, err := s.Redact(context.Background(), &req)
		if err != nil {
			b.Fatal(err)
		}
		if out, err = (proto.MarshalOptions{}).MarshalAppend(out[:0], resp); err != nil {
			b.Fatal(err)
		}
	}
}
