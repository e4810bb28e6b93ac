package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unsafe"

	"google.golang.org/protobuf/encoding/protojson"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	"github.com/dpsweep/dpsweep/services/redaction"
	"github.com/dpsweep/dpsweep/services/redaction/engine"
)

const redactUsage = `Usage: dpsweep redact [flags] [file]

Reads text from file (or standard input), scrubs credentials, AWS account
numbers and personal data, and writes the redacted text to standard output.
With --json it prints the findings instead, one JSON object per input (per
line with --line-buffered), in the RedactionService's Finding format.

Examples:
  dpsweep redact < app.log > app.redacted.log
  tail -f app.log | dpsweep redact --line-buffered
  dpsweep redact --json --min-confidence high description.txt

Flags:
`

func runRedact(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dpsweep redact", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, redactUsage); fs.PrintDefaults() }
	policyName := fs.String("policy", "default", "built-in policy: default, mask, pseudonymize or credentials")
	operator := fs.String("operator", "", "operator for everything detected (replace, mask, hash, remove, keep); overrides --policy's")
	keepLast := fs.Int("keep-last", 0, "with --operator mask: characters left visible at the end")
	entities := fs.String("entities", "", "comma-separated entity types to detect (default: all)")
	minConf := fs.String("min-confidence", "low", "drop detections below: low, medium or high")
	asJSON := fs.Bool("json", false, "print findings as JSON instead of the redacted text")
	lines := fs.Bool("line-buffered", false, "redact each line as it arrives (for log pipelines; secrets spanning lines are not seen whole)")
	maxBytes := fs.Int("max-bytes", 64<<20, "largest input read at once, in bytes (without --line-buffered)")
	hashKey := fs.String("hash-key-file", "", "HMAC key file (32+ bytes, hex or base64) for stable pseudonyms with the hash operator")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("redact takes at most one file, got %d arguments", fs.NArg())
	}
	e := engine.New()
	p, err := redaction.BuiltinPolicy(e, *policyName)
	if err != nil {
		return fmt.Errorf("--policy: %w", err)
	}
	pol := *p
	if *operator != "" {
		op, err := engine.ParseOperator(*operator)
		if err != nil {
			return fmt.Errorf("--operator: %w", err)
		}
		pol.Default, pol.Operators = engine.OperatorConfig{Operator: op, KeepLast: *keepLast}, nil
	}
	if *entities != "" {
		pol.Entities = map[string]bool{}
		for _, ent := range strings.Split(*entities, ",") {
			ent = strings.TrimSpace(strings.ToUpper(ent))
			if _, ok := e.EntityCategory(ent); !ok {
				return fmt.Errorf("--entities: unknown entity type %q; known: %s", ent, strings.Join(e.Entities(), ", "))
			}
			pol.Entities[ent] = true
		}
	}
	switch strings.ToLower(*minConf) {
	case "low":
		pol.MinConfidence = engine.ConfidenceLow
	case "medium":
		pol.MinConfidence = engine.ConfidenceMedium
	case "high":
		pol.MinConfidence = engine.ConfidenceHigh
	default:
		return fmt.Errorf("--min-confidence %q: want low, medium or high", *minConf)
	}
	keys := engine.RandomKeys()
	if *hashKey != "" {
		raw, err := os.ReadFile(*hashKey)
		if err != nil {
			return fmt.Errorf("--hash-key-file: %w", err)
		}
		k := []byte(strings.TrimSpace(string(raw)))
		if keys, err = engine.NewKeys(k, make([]byte, 32)); err != nil {
			return fmt.Errorf("--hash-key-file: %w", err)
		}
	}
	r := &engine.Redactor{Engine: e, Keys: keys}

	in := stdin
	if fs.NArg() == 1 {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	// Line mode flushes each line; whole-input mode writes once.
	out := bufio.NewWriterSize(stdout, 1<<20)
	defer out.Flush()
	handle := func(text string) error {
		if *asJSON {
			resp := &redactionv1.DetectResponse{}
			for _, f := range r.Detect(text, &pol) {
				resp.Findings = append(resp.Findings, redaction.FindingProto(f))
			}
			b, err := protojson.Marshal(resp)
			if err != nil {
				return err
			}
			// protojson varies its spacing on purpose; print one stable line.
			var line bytes.Buffer
			if err := json.Compact(&line, b); err != nil {
				return err
			}
			line.WriteByte('\n')
			_, err = out.Write(line.Bytes())
			return err
		}
		red, _, err := r.Redact(text, &pol)
		if err != nil {
			return err
		}
		_, err = out.WriteString(red)
		return err
	}
	if *lines {
		br := bufio.NewReaderSize(in, 64<<10)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				if herr := handle(line); herr != nil {
					return herr
				}
				if ferr := out.Flush(); ferr != nil {
					return ferr
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	var data []byte
	if fs.NArg() == 1 {
		if st, err := os.Stat(fs.Arg(0)); err == nil && st.Size() > int64(*maxBytes) {
			return fmt.Errorf("input is larger than --max-bytes %d; raise it or use --line-buffered", *maxBytes)
		}
		data, err = os.ReadFile(fs.Arg(0))
	} else {
		data, err = io.ReadAll(io.LimitReader(in, int64(*maxBytes)+1))
	}
	if err != nil {
		return err
	}
	if len(data) > *maxBytes {
		return fmt.Errorf("input is larger than --max-bytes %d; raise it or use --line-buffered", *maxBytes)
	}
	if len(data) == 0 {
		return handle("")
	}
	// The buffer is never written again, so the text can share it instead
	// of copying it (a copy of a large input costs page faults, not just time).
	return handle(unsafe.String(&data[0], len(data)))
}
