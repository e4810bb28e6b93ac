package server

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Proto3 string fields must hold UTF-8, and the protobuf runtime refuses a
// message that breaks this before any handler runs, which gRPC would report
// as INTERNAL. Clients in other languages can send such bytes, and the API
// promises INVALID_ARGUMENT naming the field. So the server's codec decodes
// such a message a second time with each bad string's invalid bytes
// replaced by U+FFFD, remembers the fields, and the validation interceptor
// refuses the request naming them. Valid messages take the normal path.

// invalidUTF8 maps a decoded request message to the paths of its string
// fields that held invalid UTF-8; the validation interceptor takes them out.
var invalidUTF8 sync.Map // proto.Message -> []string

type utf8Codec struct{ base encoding.CodecV2 }

func newUTF8Codec() encoding.CodecV2 {
	return utf8Codec{base: encoding.GetCodecV2("proto")}
}

func (c utf8Codec) Name() string                           { return c.base.Name() }
func (c utf8Codec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }
func (c utf8Codec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.base.Unmarshal(data, v)
	if err == nil || !strings.Contains(err.Error(), "invalid UTF-8") {
		return err
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	var paths []string
	clean := sanitizeUTF8(data.Materialize(), m.ProtoReflect().Descriptor(), "", &paths)
	if len(paths) == 0 {
		return err
	}
	proto.Reset(m)
	if err2 := proto.Unmarshal(clean, m); err2 != nil {
		return err
	}
	invalidUTF8.Store(m, paths)
	return nil
}

// takeInvalidUTF8 returns and forgets the invalid-UTF-8 fields of a message.
func takeInvalidUTF8(m any) []string {
	if v, ok := invalidUTF8.LoadAndDelete(m); ok {
		return v.([]string)
	}
	return nil
}

// sanitizeUTF8 re-encodes b (a message of type md) with invalid UTF-8 in
// string fields replaced, appending each such field's path to paths.
func sanitizeUTF8(b []byte, md protoreflect.MessageDescriptor, prefix string, paths *[]string) []byte {
	out := make([]byte, 0, len(b))
	index := map[protowire.Number]int{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return append(out, b...)
		}
		tag := b[:n]
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		if typ != protowire.BytesType || fd == nil {
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return append(append(out, tag...), b...)
			}
			out = append(append(out, tag...), b[:m]...)
			b = b[m:]
			continue
		}
		v, m := protowire.ConsumeBytes(b)
		if m < 0 {
			return append(append(out, tag...), b...)
		}
		b = b[m:]
		path := prefix + string(fd.Name())
		if fd.IsList() {
			path = fmt.Sprintf("%s[%d]", path, index[num])
			index[num]++
		}
		switch {
		case fd.Kind() == protoreflect.StringKind && !utf8.Valid(v):
			*paths = append(*paths, path)
			v = bytes.ToValidUTF8(v, []byte("\uFFFD"))
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			v = sanitizeUTF8(v, fd.Message(), path+".", paths)
		}
		out = append(out, tag...)
		out = protowire.AppendBytes(out, v)
	}
	return out
}
