package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/postgres"
	"github.com/hepclinic/hep/internal/sqlite"
	"github.com/hepclinic/hep/internal/telemetry"
)

// The --db value picks the engine: a postgres:// or postgresql:// URL is a
// PostgreSQL database shared by any number of hepd replicas; anything else
// is the path of an SQLite file, the embedded default.

// store is what hepd's commands use of either engine.
type store interface {
	hep.Store
	Close() error
}

// leader is implemented by stores that several hepd processes share: the
// background loops (adherence evaluation, audit checkpoints) run on the one
// replica that holds the named lock. An SQLite file has one hepd.
type leader interface {
	TryLead(ctx context.Context, name string) (release func(), ok bool, err error)
}

// isPostgres reports whether db names a PostgreSQL database.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// checkDBFlag refuses a password on the command line, where every user of
// the host can read it (ps, /proc): it goes in the HEP_DB environment
// variable, PGPASSWORD or a PGPASSFILE instead. Call it after parsing.
func checkDBFlag(fs *flag.FlagSet, db string) error { return checkURLFlag(fs, "db", db) }

// checkURLFlag is checkDBFlag for the flag called name.
func checkURLFlag(fs *flag.FlagSet, name, db string) error {
	fromFlag := false
	fs.Visit(func(f *flag.Flag) { fromFlag = fromFlag || f.Name == name })
	if !fromFlag || !isPostgres(db) {
		return nil
	}
	u, err := url.Parse(db)
	if err != nil {
		return fmt.Errorf("%w: --%s: not a valid postgres:// URL", errUsage, name)
	}
	if _, has := u.User.Password(); has {
		return fmt.Errorf("%w: --%s holds a password, which the command line shows to every user of this host: put the password in PGPASSFILE or PGPASSWORD (or the whole URL in the environment)", errUsage, name)
	}
	return nil
}

// displayDB is db with any password replaced, for logs and messages.
func displayDB(db string) string {
	if !isPostgres(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

type openOptions struct {
	log *slog.Logger
	tel *telemetry.Telemetry
}

// openStore opens (and migrates) the database db names.
func openStore(ctx context.Context, db string, o openOptions) (store, error) {
	if isPostgres(db) {
		var opts []postgres.Option
		if o.log != nil {
			opts = append(opts, postgres.WithLogger(o.log))
		}
		if o.tel != nil {
			opts = append(opts, postgres.WithTelemetry(o.tel))
		}
		s, err := postgres.Open(ctx, db, opts...)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	var opts []sqlite.Option
	if o.log != nil {
		opts = append(opts, sqlite.WithLogger(o.log))
	}
	if o.tel != nil {
		opts = append(opts, sqlite.WithTelemetry(o.tel))
	}
	s, err := sqlite.Open(ctx, db, opts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// migrateDB applies pending migrations and returns their versions.
func migrateDB(ctx context.Context, db string) ([]int, error) {
	if isPostgres(db) {
		return postgres.Migrate(ctx, db)
	}
	return sqlite.Migrate(ctx, db)
}

// checkSchemaCurrent fails unless db's schema is the one this hepd writes:
// commands that must not migrate (export) call it first.
func checkSchemaCurrent(ctx context.Context, db, command string) error {
	var v, latest int
	var err error
	if isPostgres(db) {
		v, err = postgres.SchemaVersionOf(ctx, db)
		latest = postgres.LatestVersion()
	} else {
		v, err = sqlite.SchemaVersionOf(ctx, db)
		latest = sqlite.LatestVersion()
	}
	if err != nil {
		return err
	}
	if v < latest {
		return fmt.Errorf("the database %s has schema version %d, this hepd needs %d: run \"hepd migrate\" on it first (%s never migrates)",
			displayDB(db), v, latest, command)
	}
	return nil
}

// leaderGate lets one of several replicas run a background loop: ok takes
// the store's named lock if this process does not hold it yet. With an
// SQLite file (no leader) ok is always true. Exclusivity saves work, it is
// not what keeps data right: the store serializes adherence evaluation
// itself, and a checkpoint signed by two replicas is two true statements.
type leaderGate struct {
	l       leader
	name    string
	log     *slog.Logger
	mu      sync.Mutex
	release func()
}

func newLeaderGate(s store, name string, log *slog.Logger) *leaderGate {
	g := &leaderGate{name: name, log: log}
	g.l, _ = s.(leader)
	return g
}

// ok reports whether this process may run the loop's next round.
func (g *leaderGate) ok(ctx context.Context) bool {
	if g == nil || g.l == nil {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release != nil {
		return true
	}
	release, ok, err := g.l.TryLead(ctx, g.name)
	if err != nil {
		if ctx.Err() == nil {
			g.log.Warn("leader lock unavailable", "lock", g.name, "err", err.Error())
		}
		return false
	}
	if ok {
		g.release = release
		g.log.Info("leading background work", "lock", g.name)
	}
	return ok
}

// drop gives the lock up (after a failed round, whose connection may be
// gone, and at shutdown); the next ok competes for it again.
func (g *leaderGate) drop() {
	if g == nil || g.l == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release != nil {
		g.release()
		g.release = nil
	}
}
