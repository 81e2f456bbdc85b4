package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// The audit trail's checkpoints: hepd signs the heads of its chains with an
// Ed25519 key that is never in the database (a file, or the environment)
// and appends them to a file and to its log, from where operators ship
// them out of reach of whoever holds the database. "hepd audit verify
// --checkpoint FILE" then finds a cut-off tail or a rewritten chain, which
// the hash chain alone cannot. See docs/security.md.

// Environment variables of the audit key. The key itself may come from
// the environment (HEP_AUDIT_KEY), never from a flag: a flag's value shows
// in the process list.
const (
	envAuditKeyFile      = "HEP_AUDIT_KEY_FILE"
	envAuditKey          = "HEP_AUDIT_KEY"
	envAuditVerifierKey  = "HEP_AUDIT_VERIFIER_KEY"
	envAuditCheckpoints  = "HEP_AUDIT_CHECKPOINT_FILE"
	defaultCheckpointGap = time.Minute
)

func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "hepd audit verify|checkpoint|keygen (run hepd audit COMMAND -h)"
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	switch args[0] {
	case "verify":
		return cmdAuditVerify(ctx, args[1:], stdout, stderr)
	case "checkpoint":
		return cmdAuditCheckpoint(ctx, args[1:], stdout, stderr)
	case "keygen":
		return cmdAuditKeygen(args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: %s", errUsage, use)
}

// keyFileFlag is the flag naming the signer key's file.
func keyFileFlag(fs *flag.FlagSet) *string {
	return fs.String("audit-key-file", envOr(envAuditKeyFile, ""),
		"file holding the Ed25519 key that signs audit checkpoints (env "+envAuditKeyFile+", or the key itself in "+envAuditKey+")")
}

// loadSigner reads the audit signer key from file, or from HEP_AUDIT_KEY;
// nil (and no error) when neither is set.
func loadSigner(file string) (*hep.CheckpointSigner, error) {
	var key string
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading the audit key: %w", err)
		}
		key = string(b)
	case os.Getenv(envAuditKey) != "":
		key = os.Getenv(envAuditKey)
	default:
		return nil, nil
	}
	return hep.NewCheckpointSigner(key)
}

// stringsFlag is a repeatable flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func cmdAuditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit verify", stderr)
	db := dbFlag(fs)
	var cpFiles stringsFlag
	fs.Var(&cpFiles, "checkpoint", "file of signed checkpoints to check the trail against (repeatable; env "+envAuditCheckpoints+")")
	vkeyFile := fs.String("verifier-key", "", "file holding the checkpoints' verifier (public) key (or env "+envAuditVerifierKey+"; derived from the signer key if that is configured)")
	keyFile := keyFileFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(cpFiles) == 0 {
		if f := os.Getenv(envAuditCheckpoints); f != "" {
			cpFiles = append(cpFiles, f)
		}
	}
	var cps []hep.Checkpoint
	if len(cpFiles) > 0 {
		v, err := loadVerifier(*vkeyFile, *keyFile)
		if err != nil {
			return err
		}
		for _, f := range cpFiles {
			b, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("reading checkpoints: %w", err)
			}
			got, err := hep.ParseCheckpoints(b, v)
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			cps = append(cps, got...)
		}
	}
	store, err := openStore(ctx, *db, openOptions{})
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := hep.VerifyAudit(ctx, store, cps)
	if err != nil {
		return err
	}
	return reportVerification(stdout, res, cps)
}

// reportVerification prints what VerifyAudit found; an error if the trail
// did not verify.
func reportVerification(w io.Writer, res hep.AuditVerification, cps []hep.Checkpoint) error {
	if !res.OK() {
		if res.BrokenChain == "" {
			fmt.Fprintf(w, "audit trail BROKEN: %s\n", res.Problem)
		} else {
			fmt.Fprintf(w, "audit chain %s BROKEN at sequence %d: %s (%d events checked)\n", res.BrokenChain, res.BrokenSeq, res.Problem, res.Events)
		}
		return errors.New("audit trail broken")
	}
	var parts []string
	for _, h := range res.Heads {
		parts = append(parts, fmt.Sprintf("%s %d", h.Chain, h.Seq))
	}
	fmt.Fprintf(w, "audit chain OK: %d events (%s)\n", res.Events, strings.Join(parts, ", "))
	if len(cps) == 0 {
		fmt.Fprintln(w, "no checkpoint given: a cut-off tail or a rewritten chain cannot be detected without one (see docs/security.md)")
		return nil
	}
	newest := cps[0].Time
	for _, c := range cps {
		if c.Time.After(newest) {
			newest = c.Time
		}
	}
	fmt.Fprintf(w, "agrees with %d checkpoints, the newest of %s; events after it are vouched for by none\n", len(cps), newest.Format(time.RFC3339))
	return nil
}

// loadVerifier reads the verifier key from a file, HEP_AUDIT_VERIFIER_KEY,
// or derives it from the signer key.
func loadVerifier(vkeyFile, signerFile string) (*hep.CheckpointVerifier, error) {
	switch {
	case vkeyFile != "":
		b, err := os.ReadFile(vkeyFile)
		if err != nil {
			return nil, fmt.Errorf("reading the verifier key: %w", err)
		}
		return hep.NewCheckpointVerifier(string(b))
	case os.Getenv(envAuditVerifierKey) != "":
		return hep.NewCheckpointVerifier(os.Getenv(envAuditVerifierKey))
	}
	s, err := loadSigner(signerFile)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("%w: checking checkpoints needs their verifier key: --verifier-key FILE or %s", errUsage, envAuditVerifierKey)
	}
	return hep.NewCheckpointVerifier(s.VerifierKey())
}

func cmdAuditCheckpoint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit checkpoint", stderr)
	db := dbFlag(fs)
	keyFile := keyFileFlag(fs)
	appendTo := fs.String("append", "", "also append the checkpoint to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	signer, err := loadSigner(*keyFile)
	if err != nil {
		return err
	}
	if signer == nil {
		return fmt.Errorf("%w: signing a checkpoint needs the audit key: --audit-key-file FILE or %s", errUsage, envAuditKey)
	}
	store, err := openStore(ctx, *db, openOptions{})
	if err != nil {
		return err
	}
	defer store.Close()
	_, signed, err := signHeads(ctx, store, signer, time.Now())
	if err != nil {
		return err
	}
	if *appendTo != "" {
		if err := appendCheckpoint(*appendTo, signed); err != nil {
			return err
		}
	}
	_, err = stdout.Write(signed)
	return err
}

func cmdAuditKeygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit keygen", stderr)
	name := fs.String("name", "hep-audit", "the key's name, printed in every signature (e.g. the clinic's host name)")
	out := fs.String("out", "", "file to write the signer (private) key to; must not exist (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	skey, vkey, err := hep.GenerateCheckpointKey(*name)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, skey); err != nil {
		f.Close()
		os.Remove(*out)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote the signer key to %s (keep it off the database host's backups; hepd reads it with --audit-key-file)\n"+
		"the verifier key below is public: keep it with the checkpoints, give it to hepd audit verify --verifier-key\n", *out)
	fmt.Fprintln(stdout, vkey)
	return nil
}

// signHeads signs a checkpoint of the store's heads now.
func signHeads(ctx context.Context, r hep.AuditReader, signer *hep.CheckpointSigner, now time.Time) (hep.Checkpoint, []byte, error) {
	origin, heads, err := r.AuditHeads(ctx)
	if err != nil {
		return hep.Checkpoint{}, nil, err
	}
	cp := hep.NewCheckpoint(origin, now, heads)
	signed, err := signer.Sign(cp)
	return cp, signed, err
}

// appendCheckpoint appends a signed checkpoint to file (created 0600) and
// syncs it.
func appendCheckpoint(file string, signed []byte) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit checkpoint file: %w", err)
	}
	if _, err := f.Write(signed); err != nil {
		f.Close()
		return fmt.Errorf("audit checkpoint file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("audit checkpoint file: %w", err)
	}
	return f.Close()
}

// checkpointer writes checkpoints while hepd serves: every interval if the
// heads moved, and once more at shutdown.
type checkpointer struct {
	log      *slog.Logger
	r        hep.AuditReader
	signer   *hep.CheckpointSigner
	file     string // "" logs them only
	interval time.Duration
	gate     *leaderGate // one replica of several signs them

	mu   sync.Mutex
	last hep.Checkpoint

	cancel context.CancelFunc
	done   chan struct{}
}

// write signs and records a checkpoint unless the heads are those of the
// last one.
func (c *checkpointer) write(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.gate.ok(ctx) {
		return nil
	}
	cp, signed, err := signHeads(ctx, c.r, c.signer, time.Now())
	if err != nil {
		return err
	}
	if cp.SameHeads(c.last) {
		return nil
	}
	if c.file != "" {
		if err := appendCheckpoint(c.file, signed); err != nil {
			return err
		}
	}
	var heads []string
	for _, h := range cp.Heads {
		heads = append(heads, fmt.Sprintf("%s:%d", h.Chain, h.Seq))
	}
	// The checkpoint holds no patient data: an origin, sequence numbers and
	// hashes. Logged whole, it can be shipped with the logs.
	c.log.Info("audit checkpoint", "heads", strings.Join(heads, " "), "checkpoint", string(signed))
	c.last = cp
	return nil
}

// start runs the periodic checkpoints until stop.
func (c *checkpointer) start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		if c.interval <= 0 {
			return
		}
		t := time.NewTicker(c.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := c.write(ctx); err != nil && ctx.Err() == nil {
					c.log.Error("audit checkpoint failed", "err", err.Error())
				}
			}
		}
	}()
}

// stop ends the periodic checkpoints and writes the last one: called after
// every call has finished, before the database closes.
func (c *checkpointer) stop() {
	c.cancel()
	<-c.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.write(ctx); err != nil {
		c.log.Error("final audit checkpoint failed", "err", err.Error())
	}
	c.gate.drop()
}

// checkLastCheckpoint compares the newest checkpoint in file with the
// database at start, cheaply (one event per chain): a database rolled back
// or cut since hepd last wrote it is reported at once, not at the next
// verify. The full check is hepd audit verify.
func checkLastCheckpoint(ctx context.Context, log *slog.Logger, r hep.AuditReader, signer *hep.CheckpointSigner, file string) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(bytes.TrimSpace(b)) == 0) {
		return
	}
	if err != nil {
		log.Error("audit checkpoint file unreadable", "err", err.Error())
		return
	}
	v, err := hep.NewCheckpointVerifier(signer.VerifierKey())
	if err != nil {
		log.Error("audit verifier key", "err", err.Error())
		return
	}
	cps, err := hep.ParseCheckpoints(b, v)
	if err != nil {
		log.Error("audit checkpoint file does not verify with this key: run hepd audit verify", "err", err.Error())
		return
	}
	last := cps[len(cps)-1]
	origin, _, err := r.AuditHeads(ctx)
	if err != nil {
		log.Error("reading the audit heads", "err", err.Error())
		return
	}
	problem := ""
	if last.Origin != origin {
		problem = "the checkpoints are of another audit trail"
	}
	for _, h := range last.Heads {
		if problem != "" {
			break
		}
		var got *hep.AuditEvent
		err := r.ScanAudit(ctx, h.Chain, h.Seq-1, func(e hep.AuditEvent) error {
			got = &e
			return errStopScan
		})
		if err != nil && !errors.Is(err, errStopScan) {
			log.Error("reading the audit trail", "err", err.Error())
			return
		}
		switch {
		case got == nil || got.Seq != h.Seq:
			problem = fmt.Sprintf("chain %s is shorter than the last checkpoint (%d events)", h.Chain, h.Seq)
		case got.Hash != h.Hash:
			problem = fmt.Sprintf("chain %s differs from the last checkpoint at sequence %d", h.Chain, h.Seq)
		}
	}
	if problem != "" {
		log.Error("AUDIT TRAIL DOES NOT MATCH THE LAST CHECKPOINT: run hepd audit verify --checkpoint", "problem", problem,
			"checkpoint_time", last.Time.Format(time.RFC3339))
	}
}

var errStopScan = errors.New("stop")
