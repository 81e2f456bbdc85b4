package hep

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestCheckpointKeys signs and verifies with many fresh keys: the signer
// key's base64 holds '+' in about one key of ten, which once made a
// valid key read as malformed.
func TestCheckpointKeys(t *testing.T) {
	heads := []AuditHead{
		{Chain: ChainReads, Seq: 7, Hash: strings.Repeat("ab", 32)},
		{Chain: ChainMain, Seq: 3, Hash: strings.Repeat("cd", 32)},
		{Chain: "empty", Seq: 0},
	}
	now := time.Date(2026, 12, 6, 20, 0, 0, 123, time.UTC)
	c := NewCheckpoint(strings.Repeat("0f", 16), now, heads)
	if len(c.Heads) != 2 || c.Heads[0].Chain != ChainMain {
		t.Fatalf("NewCheckpoint heads %+v: want main then reads, no empty chain", c.Heads)
	}
	for i := range 200 {
		skey, vkey, err := GenerateCheckpointKey("clinic-a")
		if err != nil {
			t.Fatal(err)
		}
		signer, err := NewCheckpointSigner(skey + "\n")
		if err != nil {
			t.Fatalf("key %d (%d '+' in it): %v", i, strings.Count(skey, "+"), err)
		}
		if signer.VerifierKey() != vkey {
			t.Fatalf("key %d: derived verifier key %q, generated %q", i, signer.VerifierKey(), vkey)
		}
		note, err := signer.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		v, err := NewCheckpointVerifier(vkey)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseCheckpoints(append(append([]byte{}, note...), note...), v)
		if err != nil || len(got) != 2 || !got[0].SameHeads(c) || !got[1].Time.Equal(c.Time) {
			t.Fatalf("key %d: ParseCheckpoints of two notes: %+v, %v", i, got, err)
		}
		// One changed digit of a head fails the signature.
		bad := bytes.Replace(note, []byte("main 3 "), []byte("main 2 "), 1)
		if bytes.Equal(bad, note) {
			t.Fatalf("the test's edit did not apply to %q", note)
		}
		if _, err := ParseCheckpoints(bad, v); err == nil {
			t.Fatalf("key %d: an edited checkpoint verified", i)
		}
	}
	if _, err := NewCheckpointSigner("PRIVATE+KEY+clinic-a+00000000"); err == nil {
		t.Error("a key without its key field was accepted")
	}
	if _, _, err := GenerateCheckpointKey("bad name"); err == nil {
		t.Error("a key name with a space was accepted")
	}
}
