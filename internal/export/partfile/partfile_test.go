package partfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestPartFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.pdf")
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	// Committed: the path holds the bytes, mode 0600, no part left.
	f, err := Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("whole"))
	if exists(path) || !exists(path+Suffix) {
		t.Fatal("while writing, only the part file exists")
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "whole" || exists(path+Suffix) {
		t.Fatalf("after commit: %q, part left %v", b, exists(path+Suffix))
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	f.Abort() // no effect after Commit
	if !exists(path) {
		t.Fatal("Abort after Commit removed the file")
	}

	// Existing path: refused without force, at Create.
	if _, err := Create(path, false); !errors.Is(err, ErrExists) {
		t.Errorf("Create over a file: %v", err)
	}
	// A path that appears while writing is kept.
	other := filepath.Join(dir, "y.pdf")
	f, err = Create(other, false)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("new"))
	os.WriteFile(other, []byte("theirs"), 0o600)
	if err := f.Commit(); !errors.Is(err, ErrExists) {
		t.Errorf("Commit over a file that appeared: %v", err)
	}
	if b, _ := os.ReadFile(other); string(b) != "theirs" || exists(other+Suffix) {
		t.Errorf("the file that appeared: %q; part left %v", b, exists(other+Suffix))
	}

	// Force replaces.
	f, err = Create(path, true)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("again"))
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "again" {
		t.Errorf("forced: %q", b)
	}

	// Aborted: neither file.
	cut := filepath.Join(dir, "cut.zip")
	f, err = Create(cut, false)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half"))
	f.Abort()
	if exists(cut) || exists(cut+Suffix) {
		t.Error("an aborted write left a file")
	}
}
