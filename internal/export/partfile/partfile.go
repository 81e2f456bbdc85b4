// Package partfile writes a file that appears whole or not at all: the
// bytes go to PATH.part, which becomes PATH only when the writer commits
// (after an fsync); an aborted write removes it. An export cut short (a
// lost stream, Ctrl-C) therefore never leaves a file that looks complete.
// hepctl export and hepd export both write through it.
package partfile

import (
	"errors"
	"fmt"
	"os"
)

// Suffix is appended to the path while the file is being written.
const Suffix = ".part"

// ErrExists is returned (wrapped) when the path exists and force is off.
var ErrExists = errors.New("file exists")

// File is a file being written.
type File struct {
	f     *os.File
	path  string
	force bool
	ended bool
}

// Create starts writing path (mode 0600: exports hold health data).
// Unless force, it refuses a path that exists.
func Create(path string, force bool) (*File, error) {
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("%s: %w; use --force to overwrite it", path, ErrExists)
		}
	}
	f, err := os.OpenFile(path+Suffix, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	return &File{f: f, path: path, force: force}, nil
}

// Write writes to the part file.
func (p *File) Write(b []byte) (int, error) { return p.f.Write(b) }

// Commit syncs and closes the part file and moves it to the path: a
// rename with force; otherwise a hard link, which fails if the path
// appeared meanwhile (atomically), then the part's removal. On any error
// the part file is removed.
func (p *File) Commit() (err error) {
	if p.ended {
		return errors.New("partfile: already ended")
	}
	p.ended = true
	part := p.path + Suffix
	defer func() {
		if err != nil {
			os.Remove(part)
		}
	}()
	if err := p.f.Sync(); err != nil {
		p.f.Close()
		return err
	}
	if err := p.f.Close(); err != nil {
		return err
	}
	if p.force {
		return os.Rename(part, p.path)
	}
	lerr := os.Link(part, p.path)
	if lerr == nil {
		return os.Remove(part)
	}
	if _, serr := os.Lstat(p.path); serr == nil || errors.Is(lerr, os.ErrExist) {
		return fmt.Errorf("%s appeared while it was written: %w; use --force to overwrite it", p.path, ErrExists)
	}
	// No hard links here (some network and FAT file systems): rename.
	return os.Rename(part, p.path)
}

// Abort closes and removes the part file; after Commit it does nothing.
func (p *File) Abort() {
	if p.ended {
		return
	}
	p.ended = true
	p.f.Close()
	os.Remove(p.path + Suffix)
}
