package rpc

import (
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

// strictCodec is the protobuf codec with one change: a hep.v1 request whose
// string field holds invalid UTF-8 reaches the interceptor chain, which
// answers INVALID_ARGUMENT naming the field. grpc-go would otherwise fail the
// decode with INTERNAL, which tells a client developer nothing useful and
// reads like a server bug.
type strictCodec struct {
	encoding.CodecV2 // marshaling is unchanged
}

func newStrictCodec() strictCodec { return strictCodec{encoding.GetCodecV2("proto")} }

// badUTF8 holds decoded-but-invalid requests until the interceptor sees
// them: request message -> the offending field path. Only hep.v1 messages
// are recorded, so every entry is consumed by the unary interceptor of the
// same call, or for a server stream by its first RecvMsg (guardedStream).
var badUTF8 sync.Map

func (c strictCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return c.CodecV2.Unmarshal(data, v)
	}
	b := data.Materialize()
	err := proto.Unmarshal(b, m)
	if err == nil {
		return nil
	}
	md := m.ProtoReflect().Descriptor()
	if !strings.HasPrefix(string(md.FullName()), "hep.") || !strings.Contains(err.Error(), "invalid UTF-8") {
		return err
	}
	field := invalidUTF8Field(b, md, "")
	if field == "" {
		return err
	}
	proto.Reset(m)
	badUTF8.Store(m, field)
	return nil
}

// takeBadUTF8 reports (and forgets) the invalid field of a request.
func takeBadUTF8(req any) (string, bool) {
	m, ok := req.(proto.Message)
	if !ok || m == nil {
		return "", false
	}
	f, ok := badUTF8.LoadAndDelete(m)
	if !ok {
		return "", false
	}
	return f.(string), true
}

// invalidUTF8Field walks wire bytes and returns the dotted path of the first
// string field that is not valid UTF-8.
func invalidUTF8Field(b []byte, md protoreflect.MessageDescriptor, prefix string) string {
	index := map[protowire.Number]int{} // occurrences so far of each repeated field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return ""
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		if fd == nil {
			continue
		}
		name := prefix + string(fd.Name())
		if fd.IsList() {
			name = fmt.Sprintf("%s[%d]", name, index[num])
			index[num]++
		}
		switch fd.Kind() {
		case protoreflect.StringKind:
			if !utf8.Valid(v) {
				return name
			}
		case protoreflect.MessageKind:
			if f := invalidUTF8Field(v, fd.Message(), name+"."); f != "" {
				return f
			}
		}
	}
	return ""
}
