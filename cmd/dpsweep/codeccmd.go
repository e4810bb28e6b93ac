package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/dpsweep/dpsweep/workflows/codec"
)

// runCodecServer serves the payload codec over HTTP for the Temporal Web UI
// and CLI, so an operator sees decoded workflow payloads while the Temporal
// server only ever stores them encrypted.
func runCodecServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dpsweep codec-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: dpsweep codec-server --allow-origin URL [flags]\n\n"+
			"Serves /decode (and /{namespace}/decode) for the Temporal Web UI's codec endpoint setting\n"+
			"(temporal server start-dev --ui-codec-endpoint, or the UI's TEMPORAL_CODEC_ENDPOINT) and the\n"+
			"Temporal CLI's --codec-endpoint. Keys come from --temporal-key-file or DPSWEEP_TEMPORAL_KEY.\n\nFlags:")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	keyFile := fs.String("temporal-key-file", "", "file of payload keys (id:base64 per line, mode 0600); default $DPSWEEP_TEMPORAL_KEY")
	origin := fs.String("allow-origin", "", "the Temporal Web UI's origin, e.g. http://127.0.0.1:8233 (required: browsers call the codec server from it)")
	tokenFile := fs.String("token-file", "", "file holding a bearer token every request must carry (the CLI's --codec-auth \"Bearer <token>\")")
	allowEncode := fs.Bool("allow-encode", false, "also serve /encode (operators normally only decode)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *origin == "" {
		return errors.New("--allow-origin is required: the Temporal Web UI's address, e.g. http://127.0.0.1:8233")
	}
	keys, err := codec.LoadKeys(*keyFile)
	if err != nil {
		return fmt.Errorf("--temporal-key-file: %w", err)
	}
	var token string
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		token = string(trimSpace(b))
	}
	h, err := codec.NewServer(keys, codec.ServerOptions{AllowOrigin: *origin, Token: token, AllowEncode: *allowEncode})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "Codec server on http://%s for %s (%d key(s), token %t, encode %t). Ctrl-C stops.\n", lis.Addr(), *origin, len(keys), token != "", *allowEncode)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	case err := <-done:
		return err
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
