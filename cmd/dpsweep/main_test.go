package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRealMain(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args       []string
		stdin      string
		wantErr    string
		wantStdout []string
	}{
		"no command":      {args: nil, wantErr: "a command is required"},
		"unknown command": {args: []string{"sweeep"}, wantErr: `unknown command "sweeep"`},
		"help":            {args: []string{"--help"}, wantStdout: []string{"Commands:", "demo"}},
		"version":         {args: []string{"version"}, wantStdout: []string{"dpsweep dev"}},
		"demo sweeps a simulated organization and stops": {
			args: []string{"demo", "--accounts", "3", "--regions", "eu-west-1", "--ui-port", "0", "--data-dir", filepath.Join(os.TempDir(), "dpsweep-demo-test")},
			wantStdout: []string{"dpsweep.redaction.v1.RedactionService", "Temporal Web UI", "accounts 3/3", "completed: 3 accounts",
				"Report: ", ".html", "Stopped."},
		},
		"demo refuses a one-account organization": {args: []string{"demo", "--accounts", "1"}, wantErr: "--accounts must be between 2 and 10000"},
		"demo rejects a bad flag":                 {args: []string{"demo", "--timeout", "soon"}, wantErr: "invalid value"},
		"redact scrubs stdin": {
			args: []string{"redact"}, stdin: "owner ops@acme.io key AKIA2OGYBAH6STMMNXNN\n",
			wantStdout: []string{"owner [EMAIL_ADDRESS] key [AWS_ACCESS_KEY_ID]\n"},
		},
		"redact masks line by line": {
			args: []string{"redact", "--line-buffered", "--operator", "mask", "--keep-last", "4"}, stdin: "a 4111 1111 1111 1111\nb clean\n",
			wantStdout: []string{"a ***************1111\nb clean\n"},
		},
		"redact prints findings as JSON": {
			args: []string{"redact", "--json", "--entities", "email_address"}, stdin: "owner ops@acme.io key AKIA2OGYBAH6STMMNXNN",
			wantStdout: []string{`"entityType":"EMAIL_ADDRESS"`, `"utf16":{"start":6,"end":17}`},
		},
		"redact names a bad entity":   {args: []string{"redact", "--entities", "nope"}, wantErr: `--entities: unknown entity type "NOPE"`},
		"redact names a bad operator": {args: []string{"redact", "--operator", "shred"}, wantErr: `--operator: unknown operator "shred"`},
		"sim writes a generated world and exits": {
			args:       []string{"sim", "--accounts", "3", "--seed", "9", "--write-spec", filepath.Join(os.TempDir(), "dpsweep-sim-test.yaml"), "--exit"},
			wantStdout: []string{"wrote the world to"},
		},
		"sim names a bad spec":      {args: []string{"sim", "--spec", "/nonexistent/world.yaml"}, wantErr: "no such file"},
		"redact names a bad policy": {args: []string{"redact", "--policy", "strict"}, wantErr: `--policy: unknown policy "strict"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := realMain(context.Background(), tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
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

// TestMain keeps the demo's findings store (under the user's data
// directory) inside a temporary directory.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dpsweep-data-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
