package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/telemetry"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// Limits are the explicit transport limits of a server.
type Limits struct {
	// MaxRecvMsgSize caps one request message (bytes).
	MaxRecvMsgSize int
	// MaxSendMsgSize caps one response message (bytes).
	MaxSendMsgSize int
	// MaxConcurrentStreams caps concurrent calls per connection.
	MaxConcurrentStreams uint32
	// DefaultDeadline applies to calls that arrive without a deadline.
	DefaultDeadline time.Duration
	// DefaultStreamDeadline applies to streaming calls (exports) that
	// arrive without a deadline; 0 means none.
	DefaultStreamDeadline time.Duration
	// PublicPerMinute and PublicBurst rate-limit the unauthenticated methods
	// (sign-in, refresh, enrollment) per client address; 0 disables.
	PublicPerMinute, PublicBurst int
}

// DefaultLimits fit phones on mobile networks syncing a week of logs.
var DefaultLimits = Limits{
	MaxRecvMsgSize:       4 << 20,
	MaxSendMsgSize:       8 << 20,
	MaxConcurrentStreams: 64,
	DefaultDeadline:      30 * time.Second,
	// An export of years to a slow link: ~100 MB at 1 Mbit/s.
	DefaultStreamDeadline: 30 * time.Minute,
	PublicPerMinute:       60,
	PublicBurst:           30,
}

// Config configures a Server.
type Config struct {
	Store  hep.Store
	Logger *slog.Logger
	// Clock is the time source (time.Now when nil).
	Clock hep.Clock
	// PasswordParams are the argon2id costs for new password hashes.
	PasswordParams auth.Params
	Limits         Limits
	// Telemetry observes calls (metrics, traces); nil for none. The store
	// reports to the same one on its own (sqlite.WithTelemetry).
	Telemetry *telemetry.Telemetry
}

// Server is hep's gRPC server: the v1 services, health and reflection behind
// one interceptor chain.
type Server struct {
	cfg           Limits
	store         hep.Store
	log           *slog.Logger
	now           func() time.Time
	signer        *auth.Signer
	pwParams      auth.Params
	publicLimiter *keyedLimiter
	drain         chan struct{}
	drainOnce     sync.Once
	tel           *telemetry.Telemetry

	GRPC   *grpc.Server
	Health *health.Server
}

// secretName is the store secret that keys access tokens and page tokens.
const secretName = "token-signing-key"

// New builds a Server. extra options (TLS credentials) are appended to hep's
// own: message size, stream and keepalive limits.
func New(ctx context.Context, cfg Config, extra ...grpc.ServerOption) (*Server, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("rpc: no store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.PasswordParams == (auth.Params{}) {
		cfg.PasswordParams = auth.DefaultParams
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits
	}
	key, err := cfg.Store.Secret(ctx, secretName)
	if err != nil {
		return nil, fmt.Errorf("rpc: signing key: %w", err)
	}
	signer, err := auth.NewSigner(key)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg.Limits, store: cfg.Store, log: cfg.Logger, now: cfg.Clock, signer: signer,
		pwParams:      cfg.PasswordParams,
		publicLimiter: newKeyedLimiter(cfg.Limits.PublicPerMinute, cfg.Limits.PublicBurst),
		drain:         make(chan struct{}),
		tel:           cfg.Telemetry,
	}
	// Metrics wrap the whole chain (they see every call and its final
	// code); tracing is a stats handler, around even that.
	obs := cfg.Telemetry.GRPC()
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.Limits.MaxRecvMsgSize),
		grpc.MaxSendMsgSize(cfg.Limits.MaxSendMsgSize),
		grpc.MaxConcurrentStreams(cfg.Limits.MaxConcurrentStreams),
		// Phones sleep and wake: allow their keepalive pings every 20 s even
		// without active calls, and drop connections idle for 15 minutes.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 20 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: 15 * time.Minute,
			Time:              2 * time.Minute,
			Timeout:           20 * time.Second,
		}),
		grpc.ForceServerCodecV2(newStrictCodec()),
		grpc.ChainUnaryInterceptor(append(obs.Unary, s.unary)...),
		grpc.ChainStreamInterceptor(append(obs.Stream, s.stream)...),
	}
	opts = append(opts, obs.Options...)
	s.GRPC = grpc.NewServer(append(opts, extra...)...)
	hepv1.RegisterAuthServiceServer(s.GRPC, &authService{s: s})
	hepv1.RegisterAccountServiceServer(s.GRPC, &accountService{s: s})
	hepv1.RegisterPatientServiceServer(s.GRPC, &patientService{s: s})
	hepv1.RegisterDeviceServiceServer(s.GRPC, &deviceService{s: s})
	hepv1.RegisterAuditServiceServer(s.GRPC, &auditService{s: s})
	hepv1.RegisterCatalogServiceServer(s.GRPC, &catalogService{s: s})
	hepv1.RegisterScreeningServiceServer(s.GRPC, &screeningService{s: s})
	hepv1.RegisterPlanServiceServer(s.GRPC, &planService{s: s})
	hepv1.RegisterAlertServiceServer(s.GRPC, &alertService{s: s})
	hepv1.RegisterSyncServiceServer(s.GRPC, &syncService{s: s})
	hepv1.RegisterExerciseLogServiceServer(s.GRPC, &exerciseLogService{s: s})
	hepv1.RegisterReviewServiceServer(s.GRPC, &reviewService{s: s})
	hepv1.RegisterExportServiceServer(s.GRPC, &exportService{s: s})
	hepv1.RegisterOutcomeServiceServer(s.GRPC, &outcomeService{s: s})
	hepv1.RegisterMessageServiceServer(s.GRPC, &messageService{s: s})
	s.Health = health.NewServer()
	healthpb.RegisterHealthServer(s.GRPC, s.Health)
	for name := range s.GRPC.GetServiceInfo() {
		s.Health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	reflection.Register(s.GRPC)
	obs.Init(s.GRPC)
	return s, nil
}
