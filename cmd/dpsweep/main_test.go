package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRealMain(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args       []string
		wantErr    string
		wantStdout []string
	}{
		"no command":      {args: nil, wantErr: "a command is required"},
		"unknown command": {args: []string{"sweeep"}, wantErr: `unknown command "sweeep"`},
		"help":            {args: []string{"--help"}, wantStdout: []string{"Commands:", "demo"}},
		"version":         {args: []string{"version"}, wantStdout: []string{"dpsweep dev"}},
		"demo runs the suite and stops": {
			args:       []string{"demo"},
			wantStdout: []string{"dpsweep.redaction.v1.RedactionService", "SERVING", "Stopped."},
		},
		"demo rejects a bad flag": {args: []string{"demo", "--timeout", "soon"}, wantErr: "invalid value"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := realMain(context.Background(), tc.args, &stdout, &stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("realMain(%q) error = %v, want %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("realMain(%q) = %v; stderr:\n%s", tc.args, err, stderr.String())
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
		})
	}
}
