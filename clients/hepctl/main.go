// Command hepctl is the clinician and admin command-line client of hep, the
// home exercise program server for back pain.
//
// Usage:
//
//	hepctl [global flags] COMMAND [flags] [arguments]
//
// Sign in once with "hepctl login --email E"; the token pair is cached in
// <config-dir>/credentials.json (mode 0600) and refreshed automatically.
// Passwords are never accepted as flag values: they are read from the
// terminal, from a file (--password-file F) or from standard input
// (--password-file -, or the first line of a standard input that is not a
// terminal).
//
// The server address comes from --server, then HEP_SERVER, then the "server"
// field of <config-dir>/config.json, then 127.0.0.1:7070. Plaintext is used
// only for loopback addresses; anything else uses TLS with the system roots
// (or --ca-file) unless --insecure-plaintext is given.
//
// Data goes to standard output as tables (-o table) or protobuf JSON
// (-o json); errors go to standard error. Exit status is 0 on success, 1 on
// error and 2 on a usage mistake.
//
// Run "hepctl help" for the command list and "hepctl COMMAND -h" for a
// command's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: tests call it directly. It returns the
// exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
	defer a.close()
	err := a.main(ctx, args)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		printError(stderr, err)
		return 2
	default:
		printError(stderr, err)
		return 1
	}
}

// command is one hepctl command.
type command struct {
	// name is the command as typed: "login", "patients list".
	name string
	// args names the required positional arguments.
	args []string
	// optional names positional arguments that may follow args.
	optional []string
	// variadic: the last of args may be given more than once ("SYMPTOM...").
	variadic bool
	// synopsis shows the flags in the usage line.
	synopsis string
	// summary is the one-line description in "hepctl help".
	summary string
	// help is the longer description in "hepctl COMMAND -h" (optional).
	help string
	// offline commands need no server.
	offline bool
	// define declares the command's flags on fs and returns the code that runs
	// once they are parsed.
	define func(fs *flag.FlagSet) runner
}

// runner runs a command with its positional arguments.
type runner func(ctx context.Context, a *app, args []string) error

func (c *command) usageLine() string {
	parts := []string{"hepctl", c.name}
	parts = append(parts, c.args...)
	if c.variadic {
		parts[len(parts)-1] += "..."
	}
	for _, o := range c.optional {
		parts = append(parts, "["+o+"]")
	}
	if c.synopsis != "" {
		parts = append(parts, c.synopsis)
	}
	return strings.Join(parts, " ")
}

// commands is every command, in help order.
var commands = concat(authCommands, accountCommands, patientCommands, careTeamCommands, deviceCommands, auditCommands,
	catalogCommands, screeningCommands, planCommands, alertCommands, logCommands, reviewCommands, questionnaireCommands, messageCommands, exportCommands,
	[]*command{{
		name: "version", summary: "print hepctl's version", offline: true,
		define: func(fs *flag.FlagSet) runner {
			return func(_ context.Context, a *app, _ []string) error {
				_, err := fmt.Fprintf(a.stdout, "hepctl %s\n", version)
				return err
			}
		},
	}})

func concat(lists ...[]*command) []*command {
	var out []*command
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func findCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// groups returns the command groups ("accounts", "patients", ...): the first
// words of the two-word commands.
func groups() map[string][]*command {
	g := map[string][]*command{}
	for _, c := range commands {
		if first, _, ok := strings.Cut(c.name, " "); ok {
			g[first] = append(g[first], c)
		}
	}
	return g
}

const globalHelp = `hepctl: the hep clinician and admin client

Usage:
  hepctl [global flags] COMMAND [flags] [arguments]

Global flags (before the command):
  --server ADDR         server address (env HEP_SERVER, config file; default 127.0.0.1:7070)
  --tls                 use TLS even for a loopback address
  --ca-file F           PEM file of the CA that signed the server's certificate (env HEP_CA_FILE; implies --tls)
  --insecure-plaintext  allow plaintext to a non-loopback address (sends tokens unencrypted)
  -o table|json         output format (default table)
  --config-dir DIR      where config.json and credentials.json live (env HEP_CONFIG_DIR;
                        default %s)
  --timeout D           deadline of each server call (default 30s)

Commands:
%s
Run "hepctl COMMAND -h" for a command's flags. Passwords are never flag values:
they are prompted for, or read with --password-file F (or - for standard input).
`

func writeGlobalHelp(w io.Writer) {
	var b strings.Builder
	width := 0
	for _, c := range commands {
		width = max(width, len(c.name))
	}
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintf(w, globalHelp, defaultConfigDirHelp(), b.String())
}

func writeGroupHelp(w io.Writer, group string, cmds []*command) {
	fmt.Fprintf(w, "Usage of hepctl %s:\n", group)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %s\n      %s\n", c.usageLine(), c.summary)
	}
}

// main parses the global flags and runs one command.
func (a *app) main(ctx context.Context, args []string) error {
	if err := a.parseGlobals(args); err != nil {
		return err
	}
	rest := a.args
	if len(rest) == 0 {
		writeGlobalHelp(a.stderr)
		return usageErrorf("no command given")
	}
	name := rest[0]
	switch name {
	case "help":
		return a.help(rest[1:])
	case "-h", "-help", "--help":
		writeGlobalHelp(a.stdout)
		return nil
	case "--version":
		name = "version"
	}
	c := findCommand(name)
	rest = rest[1:]
	if c == nil {
		if cmds, ok := groups()[name]; ok {
			if len(rest) == 0 {
				writeGroupHelp(a.stderr, name, cmds)
				return usageErrorf("%s needs a subcommand", name)
			}
			if isHelpFlag(rest[0]) || rest[0] == "help" {
				writeGroupHelp(a.stdout, name, cmds)
				return nil
			}
			c = findCommand(name + " " + rest[0])
			if c == nil {
				writeGroupHelp(a.stderr, name, cmds)
				return usageErrorf("unknown command %q", name+" "+rest[0])
			}
			rest = rest[1:]
		} else {
			return usageErrorf("unknown command %q (run \"hepctl help\")", name)
		}
	}
	fs := c.flagSet(a.stdout)
	r := c.define(fs)
	pos, err := parseInterspersed(fs, rest, a.stdout)
	if err != nil {
		if errors.Is(err, errUsage) {
			return usageErrorf("%s: %v", c.name, err)
		}
		return err
	}
	if len(pos) < len(c.args) {
		return usageErrorf("%s: missing %s\nusage: %s", c.name, strings.Join(c.args[len(pos):], " "), c.usageLine())
	}
	if most := len(c.args) + len(c.optional); !c.variadic && len(pos) > most {
		return usageErrorf("%s: unexpected argument %q\nusage: %s", c.name, pos[most], c.usageLine())
	}
	if !c.offline {
		if err := a.resolveConfig(); err != nil {
			return err
		}
	}
	return r(ctx, a, pos)
}

func isHelpFlag(s string) bool {
	return s == "-h" || s == "-help" || s == "--help"
}

// help implements "hepctl help [COMMAND]".
func (a *app) help(args []string) error {
	if len(args) == 0 {
		writeGlobalHelp(a.stdout)
		return nil
	}
	name := strings.Join(args, " ")
	if c := findCommand(name); c != nil {
		fs := c.flagSet(a.stdout)
		c.define(fs)
		fs.Usage()
		return nil
	}
	if cmds, ok := groups()[name]; ok {
		writeGroupHelp(a.stdout, name, cmds)
		return nil
	}
	known := make([]string, 0, len(commands))
	for _, c := range commands {
		known = append(known, c.name)
	}
	sort.Strings(known)
	return usageErrorf("unknown command %q; commands: %s", name, strings.Join(known, ", "))
}
