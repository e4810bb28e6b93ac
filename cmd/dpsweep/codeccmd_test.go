package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/dpsweep/dpsweep/workflows/codec"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestCodecServerDecodesForTheUI(t *testing.T) {
	t.Parallel()
	var k [32]byte
	_, _ = rand.Read(k[:])
	keyFile := filepath.Join(t.TempDir(), "temporal.key")
	if err := os.WriteFile(keyFile, []byte("k1:"+base64.StdEncoding.EncodeToString(k[:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errs lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- realMain(ctx, []string{"codec-server", "--addr", "127.0.0.1:0", "--temporal-key-file", keyFile, "--allow-origin", "http://127.0.0.1:8233"},
			strings.NewReader(""), &out, &errs)
	}()
	addr := regexp.MustCompile(`http://(127\.0\.0\.1:[0-9]+) for`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == ""; {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			base = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no address printed: %q %q", out.String(), errs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Encrypt a payload as a worker would, then ask the server to decode it as the UI does.
	keys, err := codec.LoadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := codec.NewCodec(keys)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := converter.GetDefaultDataConverter().ToPayload("sweep spec canary-7c1d")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{Endpoint: base})
	dec, err := remote.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &got); err != nil || got != "sweep spec canary-7c1d" {
		t.Fatalf("decoded %q, %v", got, err)
	}
	// The browser's preflight from the UI's origin is answered; /encode is off.
	req, _ := http.NewRequest(http.MethodOptions, base+"/decode", nil)
	req.Header.Set("Origin", "http://127.0.0.1:8233")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:8233" {
		t.Fatalf("preflight: %v", resp.Header)
	}
	if _, err := remote.Encode([]*commonpb.Payload{plain}); err == nil {
		t.Fatal("/encode answered without --allow-encode")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("codec-server ended with %v", err)
	}
}

func TestCodecServerNeedsAnOriginAndKeys(t *testing.T) {
	t.Setenv("DPSWEEP_TEMPORAL_KEY", "")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no origin": {[]string{"codec-server"}, "--allow-origin is required"},
		"no keys":   {[]string{"codec-server", "--allow-origin", "http://127.0.0.1:8233"}, "--temporal-key-file"},
	} {
		err := realMain(context.Background(), tc.args, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", name, err, tc.want)
		}
	}
}
