package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

func TestTransportChoice(t *testing.T) {
	tests := []struct {
		server   string
		tls      bool
		insecure bool
		want     string // security protocol
	}{
		{"127.0.0.1:7070", false, false, "insecure"},
		{"localhost:7070", false, false, "insecure"},
		{"[::1]:7070", false, false, "insecure"},
		{"127.0.0.1:7070", true, false, "tls"},
		{"hep.clinic.example:443", false, false, "tls"},
		{"10.0.0.5:7070", false, false, "tls"},
		{"10.0.0.5:7070", false, true, "insecure"},
	}
	for _, tt := range tests {
		a := &app{stderr: io.Discard, opts: globalOptions{server: tt.server, tls: tt.tls, insecurePlaintext: tt.insecure}}
		tc, err := a.transportCredentials()
		if err != nil {
			t.Fatal(err)
		}
		if got := tc.Info().SecurityProtocol; got != tt.want {
			t.Errorf("%s tls=%v insecure=%v: %s, want %s", tt.server, tt.tls, tt.insecure, got, tt.want)
		}
	}
}

func TestWithDefaultPort(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:7070":   "127.0.0.1:7070",
		"hep.example":      "hep.example:7070",
		"hep.example:443":  "hep.example:443",
		"::1":              "[::1]:7070",
		"[::1]":            "[::1]:7070",
		"unix:///tmp/hep":  "unix:///tmp/hep",
		"dns:///h.example": "dns:///h.example",
	} {
		if got := withDefaultPort(in); got != want {
			t.Errorf("withDefaultPort(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTimeFlag(t *testing.T) {
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.Local)
	tests := []struct {
		in   string
		end  bool
		want time.Time
		ok   bool
	}{
		{"2025-03-01T09:00:00Z", false, time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), true},
		{"2025-03-01T09:00:00.5+01:00", true, time.Date(2025, 3, 1, 8, 0, 0, 5e8, time.UTC), true},
		{"2025-03-01", false, day, true},
		{"2025-03-01", true, day.AddDate(0, 0, 1), true},
		{"03/01/2025", false, time.Time{}, false},
		{"", false, time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := parseTimeFlag(tt.in, tt.end)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseTimeFlag(%q, %v) = %v, %v", tt.in, tt.end, got, err)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args     []string
		wantPos  []string
		wantName string
	}{
		{[]string{"ID", "--name", "N"}, []string{"ID"}, "N"},
		{[]string{"--name", "N", "ID"}, []string{"ID"}, "N"},
		{[]string{"A", "--name=N", "B"}, []string{"A", "B"}, "N"},
		{[]string{"--", "--name"}, []string{"--name"}, ""},
		{[]string{"A", "--", "-x"}, []string{"A", "-x"}, ""},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		name := fs.String("name", "", "")
		pos, err := parseInterspersed(fs, tt.args, io.Discard)
		if err != nil || !slices.Equal(pos, tt.wantPos) || *name != tt.wantName {
			t.Errorf("%q: pos %q name %q err %v", tt.args, pos, *name, err)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	if _, err := parseInterspersed(fs, []string{"--nope"}, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("unknown flag: %v, want a usage error", err)
	}
}

func TestCodeWords(t *testing.T) {
	for c, want := range map[codes.Code]string{
		codes.InvalidArgument:  "invalid argument",
		codes.NotFound:         "not found",
		codes.Unauthenticated:  "unauthenticated",
		codes.PermissionDenied: "permission denied",
		codes.DeadlineExceeded: "deadline exceeded",
	} {
		if got := codeWords(c); got != want {
			t.Errorf("codeWords(%v) = %q, want %q", c, got, want)
		}
	}
}
