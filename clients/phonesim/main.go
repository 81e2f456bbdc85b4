// Command phonesim simulates patients' phones against a hep server: each
// phone is a hepclient.Client with its own state file, logging exercise
// sessions and pain check-ins, going offline for stretches, with a clock
// that may be days off, through a network that loses requests and answers.
// At the end the network heals and every phone syncs until it converges;
// the summary says how much was pushed, acknowledged and rejected, and
// whether every phone holds exactly the server's records.
//
// Usage:
//
//	phonesim --server 127.0.0.1:7070 --patients 20 --duration 1m \
//	    --offline-probability 0.3 --clock-skew 7d --fault-rate 0.1 --seed 1 \
//	    (--codes-file codes.txt | --admin-email admin@clinic.example --password-file pw.txt)
//
// Phones need enrollment codes: --codes-file gives one per line; with
// --admin-email and --password-file, phonesim signs in as that admin,
// creates a clinician, the patients (screened, with a plan of cat-cow and
// child's pose) and their codes itself.
//
// Exit status: 0 when every phone converged with an empty outbox, 1 when
// one did not (or on an error), 2 on a usage mistake.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// config is the command line.
type config struct {
	server             string
	patients           int
	duration           time.Duration
	offlineProbability float64
	clockSkew          time.Duration
	faultRate          float64
	seed               uint64
	codesFile          string
	adminEmail         string
	passwordFile       string
	stateDir           string
	rate               float64
	tls                bool
	caFile             string
	plaintext          bool
}

var errUsage = errors.New("usage")

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("phonesim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.server, "server", "127.0.0.1:7070", "hepd address")
	fs.IntVar(&c.patients, "patients", 10, "number of patients, one phone each")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long the phones run before the final sync")
	fs.Float64Var(&c.offlineProbability, "offline-probability", 0.3, "share of the time a phone is offline (0-1)")
	skew := fs.String("clock-skew", "0", "phones' clocks are off by up to this, either way (Go duration, or days: 7d)")
	fs.Float64Var(&c.faultRate, "fault-rate", 0.05, "probability that a sync call loses its request or its answer, or is duplicated (0-1)")
	seed := fs.String("seed", "", "random seed (default: from the clock)")
	fs.StringVar(&c.codesFile, "codes-file", "", "enrollment codes, one per line")
	fs.StringVar(&c.adminEmail, "admin-email", "", "admin to sign in as to create a clinician, patients and codes")
	fs.StringVar(&c.passwordFile, "password-file", "", "file holding the admin's password")
	fs.StringVar(&c.stateDir, "state-dir", "", "directory for the phones' state files (default: a new temporary directory, removed at the end)")
	fs.Float64Var(&c.rate, "rate", 4, "actions per phone per second")
	fs.BoolVar(&c.tls, "tls", false, "use TLS (the default for a non-loopback server)")
	fs.StringVar(&c.caFile, "ca-file", "", "PEM file of the CA that signed the server's certificate")
	fs.BoolVar(&c.plaintext, "insecure-plaintext", false, "allow plaintext to a non-loopback server")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, errUsage
	}
	var err error
	if c.clockSkew, err = parseSkew(*skew); err != nil {
		fmt.Fprintf(stderr, "phonesim: --clock-skew: %v\n", err)
		return c, errUsage
	}
	c.seed = uint64(time.Now().UnixNano())
	if *seed != "" {
		if c.seed, err = strconv.ParseUint(*seed, 10, 64); err != nil {
			fmt.Fprintf(stderr, "phonesim: --seed: %v\n", err)
			return c, errUsage
		}
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "phonesim: unexpected arguments %q\n", fs.Args())
		return c, errUsage
	case c.patients < 1:
		fmt.Fprintln(stderr, "phonesim: --patients must be at least 1")
		return c, errUsage
	case c.offlineProbability < 0 || c.offlineProbability >= 1 || c.faultRate < 0 || c.faultRate >= 1:
		fmt.Fprintln(stderr, "phonesim: --offline-probability and --fault-rate must be in [0, 1)")
		return c, errUsage
	case c.rate <= 0:
		fmt.Fprintln(stderr, "phonesim: --rate must be positive")
		return c, errUsage
	case (c.codesFile == "") == (c.adminEmail == ""):
		fmt.Fprintln(stderr, "phonesim: give either --codes-file or --admin-email with --password-file")
		return c, errUsage
	case c.adminEmail != "" && c.passwordFile == "":
		fmt.Fprintln(stderr, "phonesim: --admin-email needs --password-file")
		return c, errUsage
	}
	return c, nil
}

// parseSkew reads a Go duration, or a number of days ("7d").
func parseSkew(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil {
			return 0, err
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	if s == "0" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

// run is main without the process; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 2
	}
	sum, err := simulate(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "phonesim: %v\n", err)
		return 1
	}
	sum.print(stdout)
	if sum.converged != sum.phones {
		return 1
	}
	return 0
}
