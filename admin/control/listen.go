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

// SocketGroup is the group given the socket when it exists, so its
// members (and root) may use mailctl's live commands.
const SocketGroup = "yubin"

// Listen listens on the Unix socket path for a Server. It creates the
// parent directory (0750) when missing, removes a stale socket left by a
// crashed maild (but refuses when another maild answers on it, or when
// path is not a socket), and gives the socket mode 0660 and, when a group
// named "yubin" exists, that group (best effort: a process that may not
// chown keeps its own group). Closing the listener removes the socket.
func Listen(path string) (net.Listener, error) {
	if path == "" {
		return nil, errors.New("control socket: no path configured (control.socket)")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
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
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if g, err := user.LookupGroup(SocketGroup); err == nil {
		if gid, err := strconv.Atoi(g.Gid); err == nil {
			os.Lchown(path, -1, gid) // best effort, see above
		}
	}
	return l, nil
}
