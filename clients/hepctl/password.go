package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// maxPasswordBytes bounds what is read for a password (the server allows
// 256 characters).
const maxPasswordBytes = 4096

// readPassword gets a password without it ever being a flag value:
//   - file "-": the first line of standard input;
//   - file F: the first line of F;
//   - no file, standard input a terminal: a prompt with echo off (twice when
//     confirm is set);
//   - no file, standard input not a terminal: its first line.
func (a *app) readPassword(file, prompt string, confirm bool) (string, error) {
	var (
		pw  string
		err error
	)
	switch {
	case file == "-":
		pw, err = firstLine(a.stdin)
	case file != "":
		var f *os.File
		if f, err = os.Open(file); err != nil {
			return "", fmt.Errorf("reading password: %w", err)
		}
		defer f.Close()
		pw, err = firstLine(f)
	default:
		if fd, ok := terminalFD(a.stdin); ok {
			return a.promptPassword(fd, prompt, confirm)
		}
		pw, err = firstLine(a.stdin)
	}
	if err != nil {
		return "", fmt.Errorf("reading password: %w", err)
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}

func terminalFD(r io.Reader) (int, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

func (a *app) promptPassword(fd int, prompt string, confirm bool) (string, error) {
	read := func(p string) (string, error) {
		fmt.Fprint(a.stderr, p)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", fmt.Errorf("reading password: %w", err)
		}
		return string(b), nil
	}
	pw, err := read(prompt + ": ")
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	if confirm {
		again, err := read("Repeat " + strings.ToLower(prompt[:1]) + prompt[1:] + ": ")
		if err != nil {
			return "", err
		}
		if again != pw {
			return "", errors.New("the passwords do not match")
		}
	}
	return pw, nil
}

// firstLine returns the first line of r without its line ending.
func firstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxPasswordBytes)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
