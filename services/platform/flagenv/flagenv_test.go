package flagenv

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestApply(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args     []string
		env      map[string]string
		wantAddr string
		wantWait time.Duration
		wantErr  string
	}{
		"defaults when nothing is set": {
			wantAddr: "127.0.0.1:1", wantWait: time.Second,
		},
		"service prefix wins over shared prefix": {
			env:      map[string]string{"SVC_ADDR": "127.0.0.1:2", "SHARED_ADDR": "127.0.0.1:3"},
			wantAddr: "127.0.0.1:2", wantWait: time.Second,
		},
		"shared prefix used when service prefix absent": {
			env:      map[string]string{"SHARED_SHUTDOWN_WAIT": "5s"},
			wantAddr: "127.0.0.1:1", wantWait: 5 * time.Second,
		},
		"command line wins over environment": {
			args:     []string{"--addr", "127.0.0.1:9"},
			env:      map[string]string{"SVC_ADDR": "127.0.0.1:2"},
			wantAddr: "127.0.0.1:9", wantWait: time.Second,
		},
		"bad value names the variable": {
			env:     map[string]string{"SVC_SHUTDOWN_WAIT": "soon"},
			wantErr: "environment variable SVC_SHUTDOWN_WAIT",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			addr := fs.String("addr", "127.0.0.1:1", "")
			wait := fs.Duration("shutdown-wait", time.Second, "")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := Apply(fs, func(k string) string { return tc.env[k] }, "SVC", "SHARED")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Apply() error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply() error = %v", err)
			}
			if *addr != tc.wantAddr || *wait != tc.wantWait {
				t.Fatalf("addr, wait = %q, %v; want %q, %v", *addr, *wait, tc.wantAddr, tc.wantWait)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	if got := EnvName("DPSWEEP_REDACTION", "max-text-bytes"); got != "DPSWEEP_REDACTION_MAX_TEXT_BYTES" {
		t.Fatalf("EnvName() = %q", got)
	}
}
