package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// globalOptions are the flags that come before the command.
type globalOptions struct {
	server            string
	caFile            string
	tls               bool
	insecurePlaintext bool
	output            string
	configDir         string
	timeout           time.Duration
}

// parseGlobals parses the global flags into a.opts and leaves the command
// and its arguments in a.args. Environment and config file defaults are
// applied later, by resolveConfig, for the commands that talk to a server.
func (a *app) parseGlobals(args []string) error {
	fs := flag.NewFlagSet("hepctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by run, help below
	fs.Usage = func() {}
	o := &a.opts
	fs.StringVar(&o.server, "server", "", "server address host:port (env HEP_SERVER)")
	fs.StringVar(&o.caFile, "ca-file", "", "PEM CA file for TLS (env HEP_CA_FILE)")
	fs.BoolVar(&o.tls, "tls", false, "use TLS")
	fs.BoolVar(&o.insecurePlaintext, "insecure-plaintext", false, "allow plaintext to a non-loopback server")
	fs.StringVar(&o.output, "o", "table", "output format: table or json")
	fs.StringVar(&o.output, "output", "table", "output format: table or json")
	fs.StringVar(&o.configDir, "config-dir", "", "configuration directory (env HEP_CONFIG_DIR)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "deadline of each server call")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeGlobalHelp(a.stdout)
			return err
		}
		return usageErrorf("%v (run \"hepctl help\")", friendlyFlagError(err))
	}
	switch o.output {
	case "table", "json":
	default:
		return usageErrorf("-o must be table or json, not %q", o.output)
	}
	if o.timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	if o.insecurePlaintext && (o.tls || o.caFile != "") {
		return usageErrorf("--insecure-plaintext cannot be combined with --tls or --ca-file")
	}
	a.args = fs.Args()
	return nil
}

// flagSet returns a flag set for c whose -h output is c's usage.
func (c *command) flagSet(w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hepctl "+c.name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: %s\n\n%s\n", c.usageLine(), capitalize(c.summary)+".")
		if c.help != "" {
			fmt.Fprintf(out, "\n%s\n", strings.TrimSpace(c.help))
		}
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(out, "\nFlags:\n")
			fs.PrintDefaults()
		}
		fmt.Fprintf(out, "\nGlobal flags (--server, -o json, ...) go before the command: see \"hepctl help\".\n")
	}
	return fs
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parseInterspersed parses flags that may come before, between or after the
// positional arguments ("patients update ID --name N"), and returns the
// positional arguments. Everything after "--" is positional.
//
// Help (-h) is written to w; a parse error is returned, not printed, so that
// the caller reports it in one line instead of the flag package's full usage.
func parseInterspersed(fs *flag.FlagSet, args []string, w io.Writer) ([]string, error) {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage; fs.SetOutput(out) }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(w)
				usage()
				return nil, err
			}
			return nil, usageErrorf("%v\nrun \"%s -h\" for help", friendlyFlagError(err), fs.Name())
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// friendlyFlagError explains the one flag people try that hepctl refuses on
// purpose.
func friendlyFlagError(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "provided but not defined: -password") && !strings.Contains(msg, "-password-") {
		return fmt.Errorf("%v: passwords are never accepted as flag values (they end up in shell history and process lists); "+
			"type it at the prompt, or use --password-file F, or --password-file - to read standard input", msg)
	}
	return err
}

// optionalString is a flag.Value that remembers whether it was set, so
// "--mrn ”" (clear) differs from no --mrn at all.
type optionalString struct {
	value string
	set   bool
}

func (o *optionalString) String() string { return o.value }

func (o *optionalString) Set(s string) error {
	o.value, o.set = s, true
	return nil
}

// ptr returns a pointer to the value if the flag was set, else nil.
func (o *optionalString) ptr() *string {
	if !o.set {
		return nil
	}
	v := o.value
	return &v
}

// optionalInt64 is a flag.Value that remembers whether it was set, so
// "--expected-version 0" (the first plan) differs from no flag at all.
type optionalInt64 struct {
	value int64
	set   bool
}

func (o *optionalInt64) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.FormatInt(o.value, 10)
}

func (o *optionalInt64) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("not a whole number")
	}
	o.value, o.set = v, true
	return nil
}

// stringList is a flag.Value that collects every use of a repeatable flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ", ") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// maxInputBytes bounds a file given to a flag (a plan, instructions).
const maxInputBytes = 1 << 20

// readInput reads the file a flag names, or standard input for "-".
func (a *app) readInput(name string) ([]byte, error) {
	r := a.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInputBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", inputName(name), maxInputBytes)
	}
	return b, nil
}

// inputName names a file given to a flag in messages.
func inputName(name string) string {
	if name == "-" {
		return "standard input"
	}
	return name
}
