package main

import (
	"log/slog"
	"testing"
	"time"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	"github.com/dpsweep/dpsweep/services/redaction"
)

// The stream client gets an answer to every text from the real service,
// and counts answers that are not redactions as errors.
func TestStreamClient(t *testing.T) {
	svc, err := redaction.New(redaction.Config{MaxTextBytes: 1 << 20}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	const rate, d = 400.0, 500 * time.Millisecond
	res, err := streamOpenLoop(serveRedaction(t, svc, false), oneKiB(), rate, d, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != int64(rate*d.Seconds()) || res.Errors != 0 || res.P50 <= 0 || res.P99 < res.P50 {
		t.Errorf("RedactStream against the service: %+v; want every text answered, no errors", res)
	}
	// A server that echoes texts without redacting: every answer is an error.
	res, err = streamOpenLoop(serveRedaction(t, streamEcho{}, false), oneKiB(), rate, d, 2)
	if err != nil || res.Errors != res.Requests {
		t.Errorf("against a server that echoes: %+v, %v; want every answer an error", res, err)
	}
}

// streamEcho answers RedactStream with the texts unchanged.
type streamEcho struct {
	redactionv1.UnimplementedRedactionServiceServer
}

func (streamEcho) RedactStream(s redactionv1.RedactionService_RedactStreamServer) error {
	for {
		req, err := s.Recv()
		if err != nil {
			return nil
		}
		if err := s.Send(&redactionv1.RedactStreamResponse{RedactedText: req.GetText(), Id: req.GetId()}); err != nil {
			return err
		}
	}
}
