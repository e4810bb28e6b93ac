package logging

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestNew(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		format, level string
		wantErr       bool
	}{
		"json info":     {format: "json", level: "info"},
		"text debug":    {format: "text", level: "debug"},
		"upper case ok": {format: "JSON", level: "WARN"},
		"bad format":    {format: "xml", level: "info", wantErr: true},
		"bad level":     {format: "json", level: "loud", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := New(&bytes.Buffer{}, tc.format, tc.level)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New(%q, %q) error = %v, wantErr %v", tc.format, tc.level, err, tc.wantErr)
			}
		})
	}
}

func TestNewJSONFiltersByLevel(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := New(&buf, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("dropped")
	log.Warn("kept", "sweep_id", "s1")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("want exactly one JSON record, got %q: %v", buf.String(), err)
	}
	if rec["msg"] != "kept" || rec["sweep_id"] != "s1" {
		t.Fatalf("record = %v", rec)
	}
}
