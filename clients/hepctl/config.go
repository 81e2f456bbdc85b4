package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

const (
	defaultServer   = "127.0.0.1:7070"
	defaultPort     = "7070"
	configFileName  = "config.json"
	credentialsName = "credentials.json"
)

// getenv is os.Getenv; a variable so tests could replace it.
var getenv = os.Getenv

// fileConfig is <config-dir>/config.json. Flags and environment variables win
// over it.
type fileConfig struct {
	Server string `json:"server,omitempty"`
	CAFile string `json:"ca_file,omitempty"`
}

// defaultConfigDir is os.UserConfigDir()/hep.
func defaultConfigDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no configuration directory: %w (use --config-dir or HEP_CONFIG_DIR)", err)
	}
	return filepath.Join(d, "hep"), nil
}

func defaultConfigDirHelp() string {
	if d, err := defaultConfigDir(); err == nil {
		return d
	}
	return "$XDG_CONFIG_HOME/hep"
}

// resolveConfig fills the options that were not given as flags from the
// environment, then the config file, then the defaults.
func (a *app) resolveConfig() error {
	o := &a.opts
	if o.configDir == "" {
		o.configDir = getenv("HEP_CONFIG_DIR")
	}
	if o.configDir == "" {
		d, err := defaultConfigDir()
		if err != nil {
			return err
		}
		o.configDir = d
	}
	var fc fileConfig
	b, err := os.ReadFile(filepath.Join(o.configDir, configFileName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading config: %w", err)
	default:
		if err := json.Unmarshal(b, &fc); err != nil {
			return fmt.Errorf("reading %s: %w", filepath.Join(o.configDir, configFileName), err)
		}
	}
	o.server = firstNonEmpty(o.server, getenv("HEP_SERVER"), fc.Server, defaultServer)
	o.caFile = firstNonEmpty(o.caFile, getenv("HEP_CA_FILE"), fc.CAFile)
	o.server = withDefaultPort(o.server)
	if o.insecurePlaintext && o.caFile != "" {
		return usageErrorf("--insecure-plaintext cannot be combined with a CA file (from HEP_CA_FILE or %s)", configFileName)
	}
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// withDefaultPort appends hep's default port to an address without one.
func withDefaultPort(addr string) string {
	if strings.Contains(addr, "://") || strings.HasPrefix(addr, "unix:") {
		return addr
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return net.JoinHostPort(strings.Trim(addr, "[]"), defaultPort)
	}
	return addr
}

// credentials is the token cache, <config-dir>/credentials.json. It holds one
// sign-in: the server it belongs to and the current token pair.
type credentials struct {
	Server            string    `json:"server"`
	Email             string    `json:"email,omitempty"`
	AccountID         string    `json:"account_id,omitempty"`
	Role              string    `json:"role,omitempty"`
	AccessToken       string    `json:"access_token"`
	AccessExpireTime  time.Time `json:"access_expire_time"`
	RefreshToken      string    `json:"refresh_token"`
	RefreshExpireTime time.Time `json:"refresh_expire_time"`
}

func (a *app) credentialsPath() string {
	return filepath.Join(a.opts.configDir, credentialsName)
}

// loadCredentials reads the token cache; nil, nil when there is none.
func (a *app) loadCredentials() (*credentials, error) {
	path := a.credentialsPath()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading credentials: %w", err)
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(a.stderr, "hepctl: warning: %s is readable by other users; run chmod 600 on it\n", path)
		}
	}
	var c credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("reading %s: %w (delete it and run hepctl login)", path, err)
	}
	if c.AccessToken == "" || c.RefreshToken == "" {
		return nil, nil
	}
	return &c, nil
}

// saveCredentials writes the token cache atomically (a temporary file in the
// same directory, then rename) with mode 0600, creating the directory with
// mode 0700.
func (a *app) saveCredentials(c *credentials) error {
	dir := a.opts.configDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving credentials: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".credentials-*.tmp")
	if err != nil {
		return fmt.Errorf("saving credentials: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("saving credentials: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("saving credentials: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("saving credentials: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("saving credentials: %w", err)
	}
	if err := os.Rename(tmp, a.credentialsPath()); err != nil {
		return fmt.Errorf("saving credentials: %w", err)
	}
	ok = true
	return nil
}

// deleteCredentials removes the token cache; a missing file is fine.
func (a *app) deleteCredentials() error {
	if err := os.Remove(a.credentialsPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting credentials: %w", err)
	}
	return nil
}

// lockCredentials serializes token refreshes between hepctl processes sharing
// a config directory: refresh tokens are single use, and two processes
// presenting the same one would revoke the session. The lock is a file
// created exclusively; one older than staleLock is taken to be left over from
// a crashed process.
func (a *app) lockCredentials(ctx context.Context) (unlock func(), err error) {
	const staleLock = 30 * time.Second
	if err := os.MkdirAll(a.opts.configDir, 0o700); err != nil {
		return nil, err
	}
	path := a.credentialsPath() + ".lock"
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("locking credentials: %w", err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > staleLock {
			os.Remove(path)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s (another hepctl is refreshing; delete the file if none is): %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
