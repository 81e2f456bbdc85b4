// Command hepd is the hep server: it serves the v1 gRPC API on the embedded
// SQLite store and carries the operator's tools (migrate, admin create,
// audit verify, backup, export, version).
//
// Usage:
//
//	hepd serve   [--listen 127.0.0.1:7070] [--db ./hep.db] [--tls-cert F --tls-key F] [--insecure-plaintext]
//	hepd migrate [--db ./hep.db]
//	hepd admin create --email E [--name N] --password-file F|-  [--db ./hep.db]
//	hepd audit verify [--db ./hep.db] [--checkpoint FILE]... [--verifier-key FILE]
//	hepd audit checkpoint [--db ./hep.db] [--audit-key-file F] [--append FILE]
//	hepd audit keygen --name NAME --out FILE
//	hepd backup --out F [--db ./hep.db]
//	hepd export [--db ./hep.db] PATIENT_ID --format fhir|csv|pdf [--from D] [--to D] -o FILE [--force]
//	hepd version
//
// Flags win over environment variables (HEP_LISTEN, HEP_DB, HEP_TLS_CERT,
// HEP_TLS_KEY, HEP_LOG_FORMAT), which win over the defaults. Secrets never go
// on the command line: passwords are read from a file or standard input.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // patients' time zones must resolve on hosts without tzdata
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// errUsage marks errors that are the caller's mistake (exit status 2).
var errUsage = errors.New("usage")

const usage = `hepd: the hep server

Commands:
  serve          serve the gRPC API (default listen 127.0.0.1:7070, db ./hep.db)
  migrate        apply database migrations and exit
  admin create   create the first admin account (idempotent)
  audit verify   check the audit trail's hash chains (and, with --checkpoint, that none was cut or rewritten)
  audit checkpoint  print a signed checkpoint of the audit trail's heads
  audit keygen   make the key pair that signs audit checkpoints
  backup         write a consistent copy of the database (SQLite)
  copy           move a clinic from an SQLite file to an empty PostgreSQL database
  export         write a patient's export (FHIR, CSV or PDF) from the database file
  version        print the version

Run "hepd COMMAND -h" for a command's flags.
`

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdin, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "hepd:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "hepd:", err)
		return 1
	}
}

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command", errUsage)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr)
	case "admin":
		if len(rest) == 0 || rest[0] != "create" {
			return fmt.Errorf("%w: hepd admin create --email E --password-file F", errUsage)
		}
		return cmdAdminCreate(ctx, rest[1:], stdin, stdout, stderr)
	case "audit":
		return cmdAudit(ctx, rest, stdout, stderr)
	case "backup":
		return cmdBackup(ctx, rest, stdout, stderr)
	case "export":
		return cmdExport(ctx, rest, stdout, stderr)
	case "copy":
		return cmdCopy(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "hepd %s\n", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}

// envOr returns the environment variable's value, or def.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hepd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if db := fs.Lookup("db"); db != nil {
		return checkDBFlag(fs, db.Value.String())
	}
	return nil
}

func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", envOr("HEP_DB", "./hep.db"), "SQLite database file, or a postgres:// URL without its password (env HEP_DB)")
}
