package main

// Plumbing shared by the client commands (sweep, schedule, report): the
// connection flags, interspersed arguments, list flags, enum names, the
// text of a failed call, and output helpers.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	platformclient "github.com/dpsweep/dpsweep/services/platform/client"
	"github.com/dpsweep/dpsweep/services/platform/flagenv"
)

// envPrefix prefixes the environment variables of the connection flags:
// the sweep service's --addr is DPSWEEP_SWEEP_ADDR, its --tls-ca
// DPSWEEP_SWEEP_TLS_CA.
const envPrefix = "DPSWEEP"

// connFlags are a command's flags for reaching one service: --addr and the
// TLS files of services/platform/client (which names them
// --<service>-addr, --<service>-tls-ca, ...; a command talks to one
// service, so it drops the prefix), and --timeout.
type connFlags struct {
	service string
	cfg     platformclient.Config
	// inner holds the platform client's flags under their full names, for
	// the environment.
	inner   *flag.FlagSet
	timeout time.Duration
}

func addConnFlags(fs *flag.FlagSet, service, defaultAddr string) *connFlags {
	c := &connFlags{service: service, inner: flag.NewFlagSet(service, flag.ContinueOnError)}
	c.cfg.RegisterFlags(c.inner, service, defaultAddr)
	c.inner.VisitAll(func(f *flag.Flag) {
		fs.Var(f.Value, strings.TrimPrefix(f.Name, service+"-"), fmt.Sprintf("%s; env %s", f.Usage, flagenv.EnvName(envPrefix, f.Name)))
	})
	fs.DurationVar(&c.timeout, "timeout", 2*time.Minute, "deadline of each call to the "+service+" service")
	return c
}

// dial applies the environment to the connection flags the command line
// left unset, then opens a connection (lazily: the first call connects).
func (c *connFlags) dial(fs *flag.FlagSet) (*grpc.ClientConn, error) {
	fs.Visit(func(f *flag.Flag) {
		if c.inner.Lookup(c.service+"-"+f.Name) != nil {
			_ = c.inner.Set(c.service+"-"+f.Name, f.Value.String())
		}
	})
	if err := flagenv.Apply(c.inner, os.Getenv, envPrefix); err != nil {
		return nil, err
	}
	if c.cfg.Addr == "" {
		return nil, fmt.Errorf("--addr is empty: give the %s service's host:port (or set %s)", c.service, c.addrEnv())
	}
	conn, err := c.cfg.Dial()
	if err != nil {
		if c.cfg.TLSEnabled() {
			return nil, fmt.Errorf("--tls-ca, --tls-cert, --tls-key (or %s_*): %w", strings.TrimSuffix(c.addrEnv(), "_ADDR")+"_TLS", err)
		}
		return nil, fmt.Errorf("--addr %s: %w", c.cfg.Addr, err)
	}
	return conn, nil
}

func (c *connFlags) addrEnv() string { return flagenv.EnvName(envPrefix, c.service+"-addr") }

// call is the context of one call: ctx bounded by --timeout.
func (c *connFlags) call(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}

// callError is a failed call as a person reads it; it wraps the gRPC error.
type callError struct {
	text string
	err  error
}

func (e *callError) Error() string { return e.text }
func (e *callError) Unwrap() error { return e.err }

// fail is err of a call made by command op: "sweep start: InvalidArgument:
// spec.regions[0]: value does not match regex pattern ...", naming every
// field of the server's BadRequest, with a hint when the service could not
// be reached.
func (c *connFlags) fail(op string, err error) error {
	return &callError{text: op + ": " + c.describe(err), err: err}
}

func (c *connFlags) describe(err error) string {
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return err.Error()
	}
	st := se.GRPCStatus()
	text := st.Code().String() + ": " + statusText(st)
	switch st.Code() {
	case codes.Unavailable:
		if m := st.Message(); strings.Contains(m, "connection error") || strings.Contains(m, "transport") {
			text += fmt.Sprintf(" (is the %s service running at %s? set --addr or %s; a TLS server needs --tls-ca)", c.service, c.cfg.Addr, c.addrEnv())
		}
	case codes.DeadlineExceeded:
		text += fmt.Sprintf(" (no answer within --timeout %s)", c.timeout)
	case codes.Unimplemented:
		text += fmt.Sprintf(" (is %s the %s service?)", c.cfg.Addr, c.service)
	}
	if inner, ok := se.(error); ok && inner.Error() != err.Error() {
		// A wrapped status (from follow): keep the wrapping text.
		return strings.Replace(err.Error(), inner.Error(), text, 1)
	}
	return text
}

// statusText is a status's message, or the fields its BadRequest names
// with what is wrong with each.
func statusText(st *status.Status) string {
	var parts []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == "" {
					parts = append(parts, v.GetDescription())
				} else {
					parts = append(parts, v.GetField()+": "+v.GetDescription())
				}
			}
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, "; ")
	}
	return strings.TrimPrefix(st.Message(), "invalid request: ")
}

// newFlagSet is a subcommand's flag set whose --help prints usage, then the flags.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags and positional arguments in any order
// ("report ID --format html" as well as "report --format html ID"); after
// "--" everything is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// oneID checks that a command got exactly one ID argument.
func oneID(op, what string, pos []string) (string, error) {
	switch len(pos) {
	case 1:
		return pos[0], nil
	case 0:
		return "", fmt.Errorf("%s: a %s is required: dpsweep %s [flags] %s", op, what, op, strings.ToUpper(strings.ReplaceAll(what, " ", "_")))
	}
	return "", fmt.Errorf("%s: one %s expected, got %d arguments: %q", op, what, len(pos), pos)
}

// subcommand is one command of a group (sweep, schedule, report).
type subcommand struct {
	name string
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// dispatch runs the group's subcommand named by args[0]; help prints the
// group's usage.
func dispatch(ctx context.Context, group, usage string, subs []subcommand, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%s: a command is required", group)
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%s: unknown command %q", group, args[0])
}

// listFlag is a comma-separated list that may also be repeated
// (--regions a,b --regions c). An empty value sets an empty list.
type listFlag struct {
	vals []string
	set  bool
}

func (l *listFlag) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.vals, ",")
}

func (l *listFlag) Set(s string) error {
	l.set = true
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			l.vals = append(l.vals, v)
		}
	}
	return nil
}

// repeatedFlag collects every occurrence as one value (cron expressions hold commas).
type repeatedFlag []string

func (r *repeatedFlag) String() string {
	if r == nil {
		return ""
	}
	return strings.Join(*r, "; ")
}

func (r *repeatedFlag) Set(s string) error {
	*r = append(*r, s)
	return nil
}

// enumPrefix is the prefix of an enum's value names: "REPORT_FORMAT_".
func enumPrefix(ed protoreflect.EnumDescriptor) string {
	return strings.TrimSuffix(string(ed.Values().Get(0).Name()), "UNSPECIFIED")
}

// parseEnum reads an enum value by its short name in any case ("html",
// "not-assessed", "not_assessed"), its full name or its number; the zero
// value is refused.
func parseEnum(ed protoreflect.EnumDescriptor, s string) (protoreflect.EnumNumber, error) {
	name := strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(strings.TrimSpace(s)))
	for _, n := range []string{enumPrefix(ed) + name, name} {
		if v := ed.Values().ByName(protoreflect.Name(n)); v != nil && v.Number() != 0 {
			return v.Number(), nil
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n != 0 {
		if v := ed.Values().ByNumber(protoreflect.EnumNumber(n)); v != nil {
			return v.Number(), nil
		}
	}
	return 0, fmt.Errorf("unknown value %q; want %s", s, enumChoices(ed))
}

// enumShort is a value's short name: "not-assessed".
func enumShort(ed protoreflect.EnumDescriptor, n protoreflect.EnumNumber) string {
	v := ed.Values().ByNumber(n)
	if v == nil || n == 0 {
		return "-"
	}
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(string(v.Name()), enumPrefix(ed)), "_", "-"))
}

// enumChoices lists the short names: "html, json, csv, sarif, ocsf or asff".
func enumChoices(ed protoreflect.EnumDescriptor) string {
	var names []string
	for i := 0; i < ed.Values().Len(); i++ {
		if v := ed.Values().Get(i); v.Number() != 0 {
			names = append(names, enumShort(ed, v.Number()))
		}
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// parseEnums parses a list flag's values.
func parseEnums[E ~int32](flagName string, ed protoreflect.EnumDescriptor, vals []string) ([]E, error) {
	out := make([]E, 0, len(vals))
	for _, v := range vals {
		n, err := parseEnum(ed, v)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flagName, err)
		}
		out = append(out, E(n))
	}
	return out, nil
}

// printJSON writes m as one line of protojson with the proto's field names.
func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return err
	}
	var line bytes.Buffer
	if err := json.Compact(&line, b); err != nil {
		return err
	}
	line.WriteByte('\n')
	_, err = w.Write(line.Bytes())
	return err
}

// when formats a time in UTC; "-" when unset.
func when(ts *timestamppb.Timestamp, layout string) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().UTC().Format(layout)
}

const (
	tableTime  = "2006-01-02 15:04Z"
	detailTime = time.RFC3339
)

// orDash is s, or "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
