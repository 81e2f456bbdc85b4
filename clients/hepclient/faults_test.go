package hepclient_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// faults is a faulty network between phones and the server, shared by all
// the phones of a test. When on, each sync call (Push, Pull) suffers a
// fault with probability rate:
//
//   - drop the request: UNAVAILABLE, nothing sent;
//   - drop the response: sent and committed, then UNAVAILABLE;
//   - duplicate: sent twice, the second answer returned;
//   - replay: answered normally, and sent again 1-5 times later;
//   - reorder: held back (UNAVAILABLE to the phone) and sent right after a
//     later call has reached the server.
//
// Only sync calls suffer faults: a lost RefreshToken answer ends the
// session by design (TestSessionEndedKeepsOutbox covers it).
//
// Every answer the server gives, to the phone or to a replay, is reported
// to observe in the order the server produced them: the calls of a test
// run one at a time, so this is the order the server applied them in.
type faults struct {
	mu      sync.Mutex
	rng     *rand.Rand
	on      bool
	rate    float64
	later   []*delayed
	observe func(method string, req, reply proto.Message, err error)
	counts  map[string]int
}

// delayed is a request to send again later.
type delayed struct {
	method    string
	req       proto.Message
	reply     proto.Message // a template for fresh replies
	md        metadata.MD
	cc        *grpc.ClientConn
	invoker   grpc.UnaryInvoker
	countdown int // calls to wait before the next send
	sends     int // sends left
}

func newFaults(seed uint64, rate float64) *faults {
	return &faults{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), rate: rate, counts: map[string]int{}}
}

func (f *faults) setOn(on bool) {
	f.mu.Lock()
	f.on = on
	f.mu.Unlock()
}

func isSyncMethod(m string) bool {
	return m == hepv1.SyncService_Push_FullMethodName || m == hepv1.SyncService_Pull_FullMethodName
}

func (f *faults) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.tick()
	rq, rp := req.(proto.Message), reply.(proto.Message)
	send := func(reply proto.Message) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if f.observe != nil {
			f.observe(method, rq, reply, err)
		}
		return err
	}
	if !f.on || !isSyncMethod(method) || f.rng.Float64() >= f.rate {
		return send(rp)
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	hold := func(countdown, sends int) {
		f.later = append(f.later, &delayed{method: method, req: proto.Clone(rq), reply: rp, md: md.Copy(), cc: cc, invoker: invoker,
			countdown: countdown, sends: sends})
	}
	switch f.rng.IntN(5) {
	case 0:
		f.counts["drop request"]++
		return status.Error(codes.Unavailable, "fault: request dropped")
	case 1:
		f.counts["drop response"]++
		send(fresh(rp))
		return status.Error(codes.Unavailable, "fault: response dropped")
	case 2:
		f.counts["duplicate"]++
		send(fresh(rp))
		return send(rp)
	case 3:
		f.counts["replay later"]++
		err := send(rp)
		hold(1+f.rng.IntN(4), 1+f.rng.IntN(5))
		return err
	default:
		f.counts["reorder"]++
		hold(1, 1)
		return status.Error(codes.Unavailable, "fault: request delayed")
	}
}

func fresh(m proto.Message) proto.Message { return m.ProtoReflect().New().Interface() }

// tick runs after every call: delayed requests whose countdown ends are
// sent now, after the call that just reached the server. f.mu is held.
func (f *faults) tick() {
	var due []*delayed
	for _, d := range f.later {
		if d.countdown--; d.countdown <= 0 {
			due = append(due, d)
		}
	}
	for _, d := range due {
		d.send(f)
		d.sends--
		d.countdown = 1 + f.rng.IntN(4)
	}
	f.later = slices.DeleteFunc(f.later, func(d *delayed) bool { return d.sends <= 0 })
}

// send sends a delayed request with its original credentials. The phone
// that made it may be gone (closed); then the send fails and is ignored.
func (d *delayed) send(f *faults) {
	ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), d.md), 20*time.Second)
	defer cancel()
	reply := fresh(d.reply)
	err := d.invoker(ctx, d.method, d.req, reply, d.cc)
	if f.observe != nil && status.Code(err) != codes.Canceled {
		f.observe(d.method, d.req, reply, err)
	}
}

// flush sends every delayed request now, all their sends.
func (f *faults) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.later {
		for ; d.sends > 0; d.sends-- {
			d.send(f)
		}
	}
	f.later = nil
}

func (f *faults) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprint(f.counts)
}
