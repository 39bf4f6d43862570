// Package testpeers starts private instances of real third-party mail
// software on loopback, shared by the end-to-end tests and `make bench
// -compare`: Postfix as an MX with virtual Maildir delivery, Dovecot on a
// Maildir (IMAP, or doveadm only).
//
// Each instance has its own directory from PrivateDir (config, queue,
// state, log and, for Postfix, the Maildirs), never the system's
// instance or config, and a free port on 127.0.0.1. Stop stops it and
// removes the directory. Both need root: they run their services as
// unprivileged users (Postfix's mail_owner, Nobody for the Maildirs, as
// virtual(8) and Dovecot refuse uid 0), so the directories are
// traversable by others. When a peer cannot run here, Start returns an
// error matching ErrUnavailable that says why: the tests skip, the bench
// prints "skipped".
package testpeers

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Nobody is the uid and gid that owns the peers' Maildirs.
const Nobody = 65534

// ErrUnavailable matches (errors.Is) the errors saying a peer cannot run
// on this machine: a tool or user missing, or not root.
var ErrUnavailable = errors.New("peer unavailable")

// unavailable is an error matching ErrUnavailable; its text is the reason.
type unavailable string

func (u unavailable) Error() string        { return string(u) }
func (u unavailable) Is(target error) bool { return target == ErrUnavailable }

// Available checks that the tools are installed (see LookPath) and that
// this process is root; the error matches ErrUnavailable.
func Available(tools ...string) error {
	for _, t := range tools {
		if _, err := LookPath(t); err != nil {
			return unavailable(t + " not installed")
		}
	}
	if os.Geteuid() != 0 {
		return unavailable("needs root to start a private instance")
	}
	return nil
}

// LookPath finds a command in $PATH, then in /usr/sbin and
// /usr/local/sbin (where postfix and dovecot live, often not in a
// user's $PATH).
func LookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// PrivateDir creates a temporary directory that the peers' unprivileged
// users (postfix, Nobody) can traverse, unlike testing.T.TempDir.
func PrivateDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitListen waits up to d until something accepts connections on addr.
func WaitListen(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
