package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// IDs are the identifiers of the work an RPC or activity belongs to: what
// logs and spans carry so that one sweep, one account or one region can be
// followed across processes. They are never payloads.
type IDs struct {
	SweepID, AccountID, Region string
}

// Attrs are the non-empty IDs as slog attributes: sweep_id, account_id, region.
func (ids IDs) Attrs() []slog.Attr {
	var out []slog.Attr
	if ids.SweepID != "" {
		out = append(out, slog.String("sweep_id", ids.SweepID))
	}
	if ids.AccountID != "" {
		out = append(out, slog.String("account_id", ids.AccountID))
	}
	if ids.Region != "" {
		out = append(out, slog.String("region", ids.Region))
	}
	return out
}

// Args are Attrs as arguments for slog's Logger.With and friends.
func (ids IDs) Args() []any {
	attrs := ids.Attrs()
	out := make([]any, len(attrs))
	for i, a := range attrs {
		out[i] = a
	}
	return out
}

// Empty reports whether no ID is set.
func (ids IDs) Empty() bool { return ids == IDs{} }

// Annotate sets the non-empty IDs on ctx's span as dpsweep.sweep_id,
// dpsweep.account_id and dpsweep.region.
func (ids IDs) Annotate(ctx context.Context) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	for _, a := range ids.Attrs() {
		span.SetAttributes(attribute.String("dpsweep."+a.Key, a.Value.String()))
	}
}

// MessageIDs reads sweep_id, account_id and region from a request: string
// fields of those names in the message or in one of its singular message
// fields (a collection Target, an evaluation context). Repeated fields are
// not read, and a value that does not look like an identifier (at most 128
// letters, digits, '_', '.', '-') is left out, so a malformed request never
// puts arbitrary text into a log line.
func MessageIDs(m any) IDs {
	pm, ok := m.(proto.Message)
	if !ok || pm == nil {
		return IDs{}
	}
	var ids IDs
	r := pm.ProtoReflect()
	if !r.IsValid() {
		return ids
	}
	readIDs(r, &ids)
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() == protoreflect.MessageKind && fd.Cardinality() != protoreflect.Repeated && !fd.IsMap() {
			readIDs(v.Message(), &ids)
		}
		return true
	})
	return ids
}

func readIDs(r protoreflect.Message, ids *IDs) {
	fields := r.Descriptor().Fields()
	for name, dst := range map[protoreflect.Name]*string{"sweep_id": &ids.SweepID, "account_id": &ids.AccountID, "region": &ids.Region} {
		fd := fields.ByName(name)
		if fd == nil || fd.Kind() != protoreflect.StringKind || fd.Cardinality() == protoreflect.Repeated || *dst != "" {
			continue
		}
		if v := r.Get(fd).String(); identifier(v) {
			*dst = v
		}
	}
}

func identifier(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '*') {
			return false
		}
	}
	return true
}
