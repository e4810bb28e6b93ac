package suite

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

func TestStartCheckStop(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Start(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Endpoints) != len(components) {
		t.Fatalf("%d endpoints, want %d", len(s.Endpoints), len(components))
	}
	if err := s.CheckHealth(ctx); err != nil {
		t.Fatalf("CheckHealth() = %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop() = %v", err)
	}
	stopped, cancelStopped := context.WithTimeout(ctx, time.Second)
	defer cancelStopped()
	if err := s.CheckHealth(stopped); err == nil {
		t.Fatal("CheckHealth() after Stop() = nil, want an error")
	}
}
