package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/uuid"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/sqlite"
)

// localActor is the actor of commands run on the server host itself: their
// audit rows say "local:hepd" and carry a fresh request id.
func localActor(ctx context.Context, action string) context.Context {
	return hep.WithActor(ctx, hep.Actor{ID: "local:hepd", Role: hep.RoleAdmin, Action: action, RequestID: uuid.NewString(), Peer: "local"})
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	db := dbFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	applied, err := migrateDB(ctx, *db)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, v := range applied {
		fmt.Fprintf(stdout, "applied migration %04d\n", v)
	}
	return nil
}

// readPassword reads the first line of a file, or of stdin for "-".
func readPassword(path string, stdin io.Reader) (string, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func cmdAdminCreate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("admin create", stderr)
	db := dbFlag(fs)
	email := fs.String("email", "", "the admin's email (required)")
	name := fs.String("name", "Administrator", "the admin's display name")
	pwFile := fs.String("password-file", "", `file holding the password on its first line, or "-" for standard input (required)`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *email == "" || *pwFile == "" {
		return fmt.Errorf("%w: --email and --password-file are required", errUsage)
	}
	pw, err := readPassword(*pwFile, stdin)
	if err != nil {
		return fmt.Errorf("reading password: %w", err)
	}
	in := hep.AccountCreate{Email: hep.NormalizeEmail(*email), DisplayName: *name, Role: hep.RoleAdmin, Password: pw}
	if err := in.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	hash, err := auth.HashPassword(pw, auth.DefaultParams)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, *db, openOptions{})
	if err != nil {
		return err
	}
	defer store.Close()
	acct, created, err := store.EnsureAdmin(localActor(ctx, "account.bootstrap_admin"), in, hash)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "created admin %s (id %s)\n", acct.Email, acct.ID)
	} else {
		fmt.Fprintf(stdout, "admin %s already exists (id %s); nothing changed\n", acct.Email, acct.ID)
	}
	return nil
}

func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr)
	db := dbFlag(fs)
	out := fs.String("out", "", "file to write the copy to; must not exist (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	if isPostgres(*db) {
		return fmt.Errorf("%w: hepd backup copies an SQLite file; back up PostgreSQL with pg_dump or the cluster's base backups and WAL archive (docs/operations.md)", errUsage)
	}
	for _, p := range []string{*out, sqlite.ReadsPath(*out)} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists; refusing to overwrite", p)
		}
	}
	store, err := sqlite.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Backup(ctx, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", *out, sqlite.ReadsPath(*out))
	return nil
}
