package control

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"
)

// SubmitGroup is the default group of the submit socket
// (control.submit_group): its members (and root and the daemon's user)
// may hand messages to maild with sendmail, and nothing else.
const SubmitGroup = "yubin-submit"

// Socket modes: the control socket (queue control, routing, status) is for
// root and the daemon's user only; the submit socket also for SubmitGroup.
const (
	ControlMode fs.FileMode = 0o600
	SubmitMode  fs.FileMode = 0o660
)

// Listen listens on the Unix socket path for a Server. It creates the
// parent directory (0755: each socket guards itself) when missing, removes
// a stale socket left by a crashed maild (but refuses when another maild
// answers on it, or when path is not a socket), and gives the socket mode
// and, when group is not "" and exists (a name, or a numeric gid), that
// group (best effort: a process that may not chown keeps its own group).
// Closing the listener removes the socket.
func Listen(path string, mode fs.FileMode, group string) (net.Listener, error) {
	if path == "" {
		return nil, errors.New("control socket: no path configured")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("control socket %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another maild is listening on it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket: remove stale %s: %w", path, err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// The socket is created with the umask's mode; nobody connects before
	// Serve, so setting the mode now leaves no window.
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if gid, ok := lookupGroup(group); ok {
		os.Lchown(path, -1, gid) // best effort, see above
	}
	return l, nil
}

// lookupGroup returns the gid of a group name or numeric id.
func lookupGroup(group string) (int, bool) {
	if group == "" {
		return 0, false
	}
	if gid, err := strconv.Atoi(group); err == nil && gid >= 0 {
		return gid, true
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, false
	}
	gid, err := strconv.Atoi(g.Gid)
	return gid, err == nil
}
