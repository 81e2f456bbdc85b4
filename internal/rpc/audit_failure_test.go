package rpc

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/sqlite"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// auditFaults is a real store whose AppendAudit (the transport's record of
// a failed call) fails with the error set, if any.
type auditFaults struct {
	hep.Store
	err atomic.Pointer[error]
}

func (a *auditFaults) AppendAudit(ctx context.Context, e hep.AuditEvent) error {
	if p := a.err.Load(); p != nil {
		return *p
	}
	return a.Store.AppendAudit(ctx, e)
}

// TestFailedCallsAuditFailure: a call that fails must be audited; when its
// audit row cannot be written either, the caller hears UNAVAILABLE if the
// database is unavailable (a restart, a failover: the call changed
// nothing and may be retried) and INTERNAL otherwise, never the call's own
// error.
func TestFailedCallsAuditFailure(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hep.db")
	copyTemplate(t, path)
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	faults := &auditFaults{Store: st}
	srv, err := New(ctx, Config{Store: faults, PasswordParams: fastParams})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.GRPC.Serve(lis)
	defer srv.GRPC.Stop()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	hash, _ := auth.HashPassword(testPassword, fastParams)
	boot := hep.WithActor(ctx, hep.Actor{ID: "test", Role: hep.RoleAdmin, Action: "account.bootstrap_admin", RequestID: "boot"})
	if _, _, err := st.EnsureAdmin(boot, hep.AccountCreate{Email: "admin@clinic.example", DisplayName: "Admin", Role: hep.RoleAdmin, Password: testPassword}, hash); err != nil {
		t.Fatal(err)
	}
	in, err := hepv1.NewAuthServiceClient(cc).SignIn(ctx, &hepv1.SignInRequest{Email: "admin@clinic.example", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	actx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+in.GetTokens().GetAccessToken())
	accounts := hepv1.NewAccountServiceClient(cc)
	get := func() codes.Code {
		_, err := accounts.GetAccount(actx, &hepv1.GetAccountRequest{AccountId: "01a25085-0000-7000-8000-000000000000"})
		return status.Code(err)
	}
	if got := get(); got != codes.NotFound {
		t.Fatalf("GetAccount of an unknown id = %v, want NotFound", got)
	}
	for _, tt := range []struct {
		err  error
		want codes.Code
	}{
		{hep.Errorf(hep.CodeUnavailable, "the database is unavailable; retry"), codes.Unavailable},
		{errors.New("disk I/O error"), codes.Internal},
	} {
		faults.err.Store(&tt.err)
		if got := get(); got != tt.want {
			t.Errorf("GetAccount of an unknown id, its audit row failing with %q = %v, want %v", tt.err, got, tt.want)
		}
	}
}
