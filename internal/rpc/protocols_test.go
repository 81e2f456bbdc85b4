package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/hepclinic/hep/internal/web"
)

// protocol is the wire a test's env speaks to the server: gRPC (phones,
// hepctl), or the browser's Connect and gRPC-Web through internal/web's
// handler (vanguard in front of the same grpc-go server). Tests that prove
// authorization, audit, isolation and validation run over all three.
type protocol string

const (
	protoGRPC    protocol = "grpc"
	protoConnect protocol = "connect"
	protoGRPCWeb protocol = "grpcweb"
)

var protocols = []protocol{protoGRPC, protoConnect, protoGRPCWeb}

// withProtocol makes newEnv's clients speak p.
func withProtocol(p protocol) envOption { return func(o *envOptions) { o.protocol = p } }

// overProtocols runs f once per protocol, as subtests named after it.
func overProtocols(t *testing.T, f func(t *testing.T, p protocol)) {
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) { f(t, p) })
	}
}

// serveWeb serves srv's HTTP face (the handler hepd serves) on a loopback
// port over HTTP/1.1, as a browser on plain HTTP speaks to it, and returns
// a connection that calls it with the connect-go client.
func serveWeb(t *testing.T, srv *Server, p protocol) grpc.ClientConnInterface {
	t.Helper()
	h, err := web.New(web.Config{GRPC: srv.GRPC})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return &connectConn{base: hs.URL, client: hs.Client(), grpcWeb: p == protoGRPCWeb}
}

// connectConn is a grpc.ClientConnInterface over connect-go, so the typed
// hepv1 clients and call() speak Connect or gRPC-Web unchanged. Outgoing
// metadata becomes request headers; errors come back as gRPC statuses with
// their details (ErrorInfo, BadRequest), so assertions read them the same
// way for every protocol.
type connectConn struct {
	base    string
	client  *http.Client
	grpcWeb bool
}

// dyn carries any request or response through connect-go's generic client:
// the codec below marshals what it holds.
type dyn struct{ v any }

// dynCodec is the protobuf codec over dyn; a []byte request is sent as it
// is (rawRequest: bytes no proto.Message may hold, such as invalid UTF-8).
type dynCodec struct{}

func (dynCodec) Name() string { return "proto" }

func (dynCodec) Marshal(v any) ([]byte, error) {
	if d, ok := v.(*dyn); ok {
		v = d.v
	}
	switch m := v.(type) {
	case []byte:
		return m, nil
	case proto.Message:
		return proto.Marshal(m)
	default:
		return nil, fmt.Errorf("dynCodec: cannot marshal %T", m)
	}
}

func (dynCodec) Unmarshal(b []byte, v any) error {
	if d, ok := v.(*dyn); ok {
		v = d.v
	}
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("dynCodec: cannot unmarshal into %T", v)
	}
	return proto.Unmarshal(b, m)
}

func (c *connectConn) client1(method string, reply func() proto.Message) *connect.Client[dyn, dyn] {
	opts := []connect.ClientOption{
		connect.WithCodec(dynCodec{}),
		connect.WithResponseInitializer(func(_ connect.Spec, m any) error {
			m.(*dyn).v = reply()
			return nil
		}),
	}
	if c.grpcWeb {
		opts = append(opts, connect.WithGRPCWeb())
	}
	return connect.NewClient[dyn, dyn](c.client, c.base+method, opts...)
}

func outgoingHeaders(ctx context.Context, h http.Header) {
	md, _ := metadata.FromOutgoingContext(ctx)
	for k, vs := range md {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
}

func (c *connectConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	req := connect.NewRequest(&dyn{v: args})
	outgoingHeaders(ctx, req.Header())
	resp, err := c.client1(method, func() proto.Message { return reply.(proto.Message) }).CallUnary(ctx, req)
	if err != nil {
		return toGRPCStatus(err)
	}
	for _, o := range opts {
		if h, ok := o.(grpc.HeaderCallOption); ok {
			*h.HeaderAddr = headerMD(resp.Header())
		}
	}
	return nil
}

func headerMD(h http.Header) metadata.MD {
	md := metadata.MD{}
	for k, vs := range h {
		md.Append(strings.ToLower(k), vs...)
	}
	return md
}

func (c *connectConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if desc.ClientStreams || !desc.ServerStreams {
		return nil, errors.New("connectConn: only server streams")
	}
	return &serverStream{ctx: ctx, conn: c, method: method}, nil
}

// serverStream adapts connect's server stream to grpc.ClientStream: the one
// request is sent at SendMsg, the call starts at the first RecvMsg.
type serverStream struct {
	ctx    context.Context
	conn   *connectConn
	method string
	req    any
	next   proto.Message // the message RecvMsg decodes into
	stream *connect.ServerStreamForClient[dyn]
}

func (s *serverStream) SendMsg(m any) error { s.req = m; return nil }
func (s *serverStream) CloseSend() error    { return nil }
func (s *serverStream) RecvMsg(m any) error {
	if s.stream == nil {
		req := connect.NewRequest(&dyn{v: s.req})
		outgoingHeaders(s.ctx, req.Header())
		st, err := s.conn.client1(s.method, func() proto.Message { return s.next }).CallServerStream(s.ctx, req)
		if err != nil {
			return toGRPCStatus(err)
		}
		s.stream = st
	}
	s.next = m.(proto.Message)
	if s.stream.Receive() {
		return nil
	}
	if err := s.stream.Err(); err != nil {
		return toGRPCStatus(err)
	}
	return io.EOF
}
func (s *serverStream) Header() (metadata.MD, error) { return headerMD(s.stream.ResponseHeader()), nil }
func (s *serverStream) Trailer() metadata.MD         { return headerMD(s.stream.ResponseTrailer()) }
func (s *serverStream) Context() context.Context     { return s.ctx }

// toGRPCStatus turns a Connect error into the gRPC status it carries: the
// same code numbers, message and details.
func toGRPCStatus(err error) error {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return status.Error(codes.Unknown, err.Error())
	}
	p := &spb.Status{Code: int32(ce.Code()), Message: ce.Message()}
	for _, d := range ce.Details() {
		p.Details = append(p.Details, &anypb.Any{TypeUrl: "type.googleapis.com/" + d.Type(), Value: d.Bytes()})
	}
	return status.FromProto(p).Err()
}
