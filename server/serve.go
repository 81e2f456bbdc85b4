package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hepclinic/hep/internal/rpc"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	listen := fs.String("listen", envOr("HEP_LISTEN", "127.0.0.1:7070"), "address to listen on (env HEP_LISTEN)")
	db := dbFlag(fs)
	certFile := fs.String("tls-cert", envOr("HEP_TLS_CERT", ""), "TLS certificate file, PEM (env HEP_TLS_CERT)")
	keyFile := fs.String("tls-key", envOr("HEP_TLS_KEY", ""), "TLS private key file, PEM (env HEP_TLS_KEY)")
	insecure := fs.Bool("insecure-plaintext", false, "allow plaintext on a non-loopback address (only behind a TLS-terminating proxy)")
	logFormat := fs.String("log-format", envOr("HEP_LOG_FORMAT", "json"), "log format: json or text (env HEP_LOG_FORMAT)")
	drain := fs.Duration("shutdown-timeout", 20*time.Second, "how long in-flight calls may run after SIGTERM")
	adherenceEvery := fs.Duration("adherence-interval", time.Minute, "how often to raise NON_ADHERENCE alerts for days that have closed in patients' time zones (0 disables)")
	auditKey := keyFileFlag(fs)
	cpFile := fs.String("audit-checkpoint-file", envOr(envAuditCheckpoints, ""), "file to append signed audit checkpoints to (env "+envAuditCheckpoints+"); they are logged too")
	cpEvery := fs.Duration("audit-checkpoint-interval", defaultCheckpointGap, "how often to sign a checkpoint of the audit trail when it has grown (0: only at shutdown)")
	obs := metricsFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *adherenceEvery < 0 {
		return fmt.Errorf("%w: --adherence-interval must be 0 (off) or positive", errUsage)
	}
	if *cpEvery < 0 {
		return fmt.Errorf("%w: --audit-checkpoint-interval must be 0 or positive", errUsage)
	}
	signer, err := loadSigner(*auditKey)
	if err != nil {
		return err
	}
	if signer == nil && *cpFile != "" {
		return fmt.Errorf("%w: --audit-checkpoint-file needs the audit key (--audit-key-file or %s)", errUsage, envAuditKey)
	}
	log, err := newLogger(*logFormat, stderr)
	if err != nil {
		return err
	}
	if (*certFile == "") != (*keyFile == "") {
		return fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	useTLS := *certFile != ""
	if !useTLS && !*insecure && !isLoopback(*listen) {
		return fmt.Errorf("%w: refusing plaintext on non-loopback address %q: give --tls-cert/--tls-key, or --insecure-plaintext behind a TLS proxy", errUsage, *listen)
	}
	var tlsConfig *tls.Config
	if useTLS {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("loading TLS key pair: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	// Metrics and tracing (metrics.go); spans are flushed last.
	tel, flushTraces, err := obs.setup(ctx, log)
	if err != nil {
		return err
	}
	defer flushTraces()

	store, err := openStore(ctx, *db, openOptions{log: log, tel: tel})
	if err != nil {
		return fmt.Errorf("opening database: %w", err)
	}
	// The database closes last, after every in-flight call has finished.
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("closing database", "err", err.Error())
		}
		log.Info("stopped")
	}()
	// Checkpoints: the last is written after every call has finished and
	// before the database closes (this defer runs before the one above).
	if signer == nil {
		log.Warn("audit checkpoints are off (no audit key): a cut-off tail of the audit trail cannot be detected; see docs/security.md")
	} else {
		if *cpFile != "" {
			checkLastCheckpoint(ctx, log, store, signer, *cpFile)
		}
		cp := &checkpointer{log: log, r: store, signer: signer, file: *cpFile, interval: *cpEvery, gate: newLeaderGate(store, "hep.audit_checkpoint", log)}
		cp.start(context.WithoutCancel(ctx))
		defer cp.stop()
	}
	if n, err := store.CountAdmins(ctx); err != nil {
		return err
	} else if n == 0 {
		fmt.Fprintf(stderr, "hepd: this database has no admin account yet. Create one with:\n"+
			"  hepd admin create --db %s --email you@clinic.example --password-file -\n"+
			"(type the password on standard input; it is never taken from the command line)\n", displayDB(*db))
	}

	srv, err := rpc.New(ctx, rpc.Config{Store: store, Logger: log, Telemetry: tel})
	if err != nil {
		return err
	}
	front, err := newFront(srv, log, tlsConfig)
	if err != nil {
		return err
	}
	// The metrics listener stops before the database closes (a scrape
	// reads it).
	stopMetrics, err := obs.serve(log, stdout, tel, store.OpenAlertCounts)
	if err != nil {
		return err
	}
	defer stopMetrics()
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	log.Info("serving", "addr", lis.Addr().String(), "tls", useTLS, "db", displayDB(*db))
	fmt.Fprintf(stdout, "hepd listening on %s\n", lis.Addr())

	// The NON_ADHERENCE evaluator runs beside the server and stops before
	// the database closes (this defer runs before the one above).
	adherenceGate := newLeaderGate(store, "hep.evaluate_adherence", log)
	defer adherenceGate.drop()
	stopAdherence := startAdherenceLoop(ctx, log, *adherenceEvery, time.Now, adherenceGate.evaluator(store.EvaluateAdherence))
	defer stopAdherence()

	serveErr := make(chan error, 1)
	go func() { serveErr <- front.serve(lis) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}

	// Shutdown: health goes NOT_SERVING first so balancers stop sending,
	// the evaluator stops (a patient it was evaluating rolls back and is
	// evaluated again at the next start), in-flight calls finish (up to the
	// drain timeout), then the database closes (deferred above).
	log.Info("shutting down")
	srv.Drain()
	stopAdherence()
	front.shutdown(log, *drain)
	return nil
}

// adherenceEvaluator is hep.Store.EvaluateAdherence.
type adherenceEvaluator func(ctx context.Context, now time.Time) (int, error)

// evaluator runs evaluate only on the replica that leads.
func (g *leaderGate) evaluator(evaluate adherenceEvaluator) adherenceEvaluator {
	return func(ctx context.Context, now time.Time) (int, error) {
		if !g.ok(ctx) {
			return 0, nil
		}
		n, err := evaluate(ctx, now)
		if err != nil {
			g.drop()
		}
		return n, err
	}
}

// startAdherenceLoop evaluates adherence at once and then every interval
// (nothing when interval is 0) until ctx ends or the returned stop is
// called; stop waits for an evaluation in progress to end (it is cancelled)
// and may be called more than once. Days close in each patient's time zone
// at different hours, so the evaluator runs often and the store remembers
// how far it got: a run with nothing to do is cheap, a missed tick is made
// up by the next, and a restart resumes where it stopped. Logs carry counts
// and durations only, never patient data.
func startAdherenceLoop(ctx context.Context, log *slog.Logger, interval time.Duration, clock func() time.Time, evaluate adherenceEvaluator) (stop func()) {
	if interval <= 0 {
		log.Info("adherence evaluation disabled")
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			start := time.Now()
			run := localActor(ctx, "alert.evaluate_adherence")
			n, err := evaluate(run, clock())
			switch {
			case err == nil && n > 0:
				log.Info("adherence evaluated", "alerts_raised", n, "duration", time.Since(start))
			case err != nil && ctx.Err() == nil: // a cancelled run is no failure
				log.Error("adherence evaluation failed", "err", err.Error(), "alerts_raised", n, "duration", time.Since(start))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

// isLoopback reports whether a listen address binds only loopback.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("%w: --log-format must be json or text", errUsage)
}
