package hep

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// A checkpoint is a signed statement of the audit trail's heads at a
// moment: "the trail of origin O had these chains, each this long, ending
// in this hash". Kept where the database's owner cannot reach it (a log
// server, a WORM bucket), it lets VerifyAudit see what a hash chain alone
// cannot: that the newest events were cut off, or the whole chain
// rewritten. This is the signed tree head of Certificate Transparency
// (RFC 6962) over hash chains instead of a Merkle tree.
//
// A checkpoint is a signed note (the format of Go's checksum database and
// of transparency-log witnesses, golang.org/x/mod/sumdb/note), signed with
// Ed25519. Its text:
//
//	hep audit checkpoint v1
//	origin 6f1c0e9a4b2d7f35a8c1e4b7d0f3a6c9
//	time 2026-12-06T14:00:00.000000001Z
//	head main 93 3d5f...(64 hex digits)
//	head reads 412 a0b1...
//
//	— hep-audit-clinic-a AbCdEf...(base64 key hash and signature)
//
// Heads are in chain order; empty chains are left out. A file of
// checkpoints is their notes one after another.

// checkpointHeader is the first line of every checkpoint.
const checkpointHeader = "hep audit checkpoint v1"

// timeLayout is how checkpoints and verification messages write times.
const timeLayout = time.RFC3339Nano

// Checkpoint is the signed statement's content.
type Checkpoint struct {
	Origin string
	Time   time.Time
	Heads  []AuditHead // non-empty chains, in chain order
}

// NewCheckpoint makes the checkpoint of heads at time now, leaving out
// empty chains.
func NewCheckpoint(origin string, now time.Time, heads []AuditHead) Checkpoint {
	c := Checkpoint{Origin: origin, Time: now.UTC().Round(0)}
	for _, h := range heads {
		if h.Seq > 0 {
			c.Heads = append(c.Heads, h)
		}
	}
	sort.Slice(c.Heads, func(i, j int) bool { return c.Heads[i].Chain < c.Heads[j].Chain })
	return c
}

// SameHeads reports whether c and d vouch for the same heads.
func (c Checkpoint) SameHeads(d Checkpoint) bool {
	if c.Origin != d.Origin || len(c.Heads) != len(d.Heads) {
		return false
	}
	for i := range c.Heads {
		if c.Heads[i] != d.Heads[i] {
			return false
		}
	}
	return true
}

var (
	chainNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)
	originRE    = regexp.MustCompile(`^[0-9a-f]{32}$`)
	hashRE      = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// text is the note text of c.
func (c Checkpoint) text() (string, error) {
	if !originRE.MatchString(c.Origin) {
		return "", fmt.Errorf("audit checkpoint: origin %q is not 32 hex digits", c.Origin)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\norigin %s\ntime %s\n", checkpointHeader, c.Origin, c.Time.UTC().Format(timeLayout))
	for _, h := range c.Heads {
		if !chainNameRE.MatchString(h.Chain) || h.Seq <= 0 || !hashRE.MatchString(h.Hash) {
			return "", fmt.Errorf("audit checkpoint: malformed head %+v", h)
		}
		fmt.Fprintf(&b, "head %s %d %s\n", h.Chain, h.Seq, h.Hash)
	}
	return b.String(), nil
}

// parseCheckpointText reads a note's text.
func parseCheckpointText(text string) (Checkpoint, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 || lines[0] != checkpointHeader {
		return Checkpoint{}, errors.New("not a hep audit checkpoint")
	}
	var c Checkpoint
	origin, ok := strings.CutPrefix(lines[1], "origin ")
	if !ok || !originRE.MatchString(origin) {
		return Checkpoint{}, errors.New("malformed origin line")
	}
	c.Origin = origin
	ts, ok := strings.CutPrefix(lines[2], "time ")
	t, err := time.Parse(timeLayout, ts)
	if !ok || err != nil {
		return Checkpoint{}, errors.New("malformed time line")
	}
	c.Time = t.UTC()
	for _, l := range lines[3:] {
		f := strings.Fields(l)
		if len(f) != 4 || f[0] != "head" || !chainNameRE.MatchString(f[1]) || !hashRE.MatchString(f[3]) {
			return Checkpoint{}, fmt.Errorf("malformed head line %q", l)
		}
		seq, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || seq <= 0 {
			return Checkpoint{}, fmt.Errorf("malformed head line %q", l)
		}
		if n := len(c.Heads); n > 0 && c.Heads[n-1].Chain >= f[1] {
			return Checkpoint{}, fmt.Errorf("heads out of order at %q", l)
		}
		c.Heads = append(c.Heads, AuditHead{Chain: f[1], Seq: seq, Hash: f[3]})
	}
	return c, nil
}

// CheckpointSigner signs checkpoints with one Ed25519 key.
type CheckpointSigner struct {
	signer note.Signer
	vkey   string
}

// GenerateCheckpointKey makes a new key pair named name (letters, digits,
// "-", "." and "_"; it is printed in every signature). The signer key is
// the secret; the verifier key is public and goes with the checkpoints.
func GenerateCheckpointKey(name string) (signerKey, verifierKey string, err error) {
	if !keyNameRE.MatchString(name) {
		return "", "", fmt.Errorf("audit key name %q: use letters, digits, '-', '.' and '_' (at most 64)", name)
	}
	return note.GenerateKey(rand.Reader, name)
}

var keyNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// NewCheckpointSigner reads a signer key (as GenerateCheckpointKey makes
// it: "PRIVATE+KEY+name+hash+key").
func NewCheckpointSigner(signerKey string) (*CheckpointSigner, error) {
	signerKey = strings.TrimSpace(signerKey)
	s, err := note.NewSigner(signerKey)
	if err != nil {
		return nil, errors.New("audit signer key is malformed") // never echo the key
	}
	// The verifier key follows from the private key: its last field is
	// the algorithm byte and the Ed25519 seed.
	// "PRIVATE+KEY+name+hash+key": the key (standard base64) may itself
	// hold '+', so it is the fifth field, not what follows the last '+'.
	fields := strings.SplitN(signerKey, "+", 5)
	if len(fields) != 5 {
		return nil, errors.New("audit signer key is malformed")
	}
	raw, err := base64.StdEncoding.DecodeString(fields[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return nil, errors.New("audit signer key is malformed")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, err
	}
	return &CheckpointSigner{signer: s, vkey: vkey}, nil
}

// VerifierKey returns the public key that verifies this signer's
// checkpoints.
func (s *CheckpointSigner) VerifierKey() string { return s.vkey }

// Sign returns c as a signed note.
func (s *CheckpointSigner) Sign(c Checkpoint) ([]byte, error) {
	text, err := c.text()
	if err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: text}, s.signer)
}

// CheckpointVerifier checks checkpoints' signatures.
type CheckpointVerifier struct{ v note.Verifiers }

// NewCheckpointVerifier reads a verifier key ("name+hash+key").
func NewCheckpointVerifier(verifierKey string) (*CheckpointVerifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(verifierKey))
	if err != nil {
		return nil, fmt.Errorf("audit verifier key: %w", err)
	}
	return &CheckpointVerifier{v: note.VerifierList(v)}, nil
}

// ParseCheckpoints reads a file of checkpoints (notes one after another;
// blank lines between them are allowed) and checks each one's signature.
// Any checkpoint that does not verify, or that is not a well-formed
// checkpoint, fails the whole file: a forged or damaged checkpoint is
// something to look into, not to skip.
func ParseCheckpoints(data []byte, v *CheckpointVerifier) ([]Checkpoint, error) {
	var out []Checkpoint
	chunks := splitNotes(data)
	if len(chunks) == 0 {
		return nil, errors.New("no audit checkpoint found")
	}
	for i, chunk := range chunks {
		n, err := note.Open(chunk, v.v)
		if err != nil {
			var unverified *note.UnverifiedNoteError
			if errors.As(err, &unverified) {
				return nil, fmt.Errorf("checkpoint %d: not signed by the verifier key given", i+1)
			}
			return nil, fmt.Errorf("checkpoint %d: signature does not verify (%v)", i+1, err)
		}
		c, err := parseCheckpointText(n.Text)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %d: %v", i+1, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// splitNotes cuts a file into its notes: each starts at a header line.
func splitNotes(data []byte) [][]byte {
	var out [][]byte
	lines := bytes.SplitAfter(data, []byte("\n"))
	var cur []byte
	flush := func() {
		cur = bytes.TrimRight(cur, "\n")
		if len(cur) > 0 {
			out = append(out, append(cur, '\n'))
		}
		cur = nil
	}
	for _, l := range lines {
		if string(bytes.TrimRight(l, "\r\n")) == checkpointHeader {
			flush()
		}
		cur = append(cur, l...)
	}
	flush()
	return out
}
