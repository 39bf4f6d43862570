package testpeers

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DovecotOptions say what a private Dovecot serves.
type DovecotOptions struct {
	// Maildir is the mail_location of every user: any user name logs in
	// to it. Its files must belong to Nobody. Required.
	Maildir string
	// IMAP makes it listen for plaintext IMAP on 127.0.0.1:Port; without
	// it Dovecot has no listeners and is used through Doveadm.
	IMAP bool
	// Password is every user's password; "unused" when empty.
	Password string
	// Config is added to the end of dovecot.conf (namespaces, say).
	Config string
}

// Dovecot is a private Dovecot on one Maildir for any user, running as
// Nobody with home Dir/home. Its config is Dir/dovecot.conf, its log
// Dir/dovecot.log.
type Dovecot struct {
	// Dir is the instance's config, run, state and log directory.
	Dir string
	// Port is its IMAP port on 127.0.0.1; 0 without IMAP.
	Port int

	conf string
}

// StartDovecot starts Dovecot with a private config (never the system's)
// and no TLS. With IMAP it allows plaintext logins and enough connections
// per user for load tests, and returns once the port answers. Without
// root, dovecot or doveadm, the error matches ErrUnavailable.
func StartDovecot(opts DovecotOptions) (*Dovecot, error) {
	if opts.Maildir == "" {
		return nil, errors.New("testpeers: DovecotOptions.Maildir is empty")
	}
	if err := Available("dovecot", "doveadm"); err != nil {
		return nil, err
	}
	password := opts.Password
	if password == "" {
		password = "unused"
	}
	d := &Dovecot{}
	protocols := "protocols =\n"
	if opts.IMAP {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		d.Port = port
		protocols = fmt.Sprintf(`disable_plaintext_auth = no
protocols = imap
listen = 127.0.0.1
mail_max_userip_connections = 10000
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %d
  }
  inet_listener imaps {
    port = 0
  }
}
`, port)
	}
	dir, err := PrivateDir("yubin-dovecot-")
	if err != nil {
		return nil, err
	}
	d.Dir, d.conf = dir, filepath.Join(dir, "dovecot.conf")
	for _, sub := range []string{"run", "state", "home"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
	}
	os.Chown(filepath.Join(dir, "home"), Nobody, Nobody)
	cfg := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
mail_location = maildir:%[2]s
first_valid_uid = 1
%[4]s%[5]s
passdb {
  driver = static
  args = password=%[6]s
}
userdb {
  driver = static
  args = uid=%[3]d gid=%[3]d home=%[1]s/home
}
`, dir, opts.Maildir, Nobody, protocols, opts.Config, password)
	if err := os.WriteFile(d.conf, []byte(cfg), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// Dovecot daemonizes: its output goes to a file, not to pipes its
	// background process would keep open.
	out, err := os.Create(filepath.Join(dir, "start.out"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer out.Close()
	bin, _ := LookPath("dovecot")
	start := exec.Command(bin, "-c", d.conf)
	start.Stdout, start.Stderr = out, out
	if err := start.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start dovecot: %v\n%s", err, b)
	}
	if opts.IMAP {
		if err := WaitListen(d.Addr(), 10*time.Second); err != nil {
			log := d.Log()
			d.Stop()
			return nil, fmt.Errorf("dovecot: %v\n%s", err, log)
		}
	}
	return d, nil
}

// Addr is Dovecot's IMAP address ("" without IMAP).
func (d *Dovecot) Addr() string {
	if d.Port == 0 {
		return ""
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(d.Port))
}

// Log returns Dovecot's log so far.
func (d *Dovecot) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "dovecot.log"))
	return string(b)
}

// Doveadm runs doveadm on this instance with stdin as its input and
// returns its output (stdout and stderr).
func (d *Dovecot) Doveadm(stdin string, args ...string) (string, error) {
	bin, err := LookPath("doveadm")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, append([]string{"-c", d.conf}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("doveadm %v: %v\n%s", args, err, out)
	}
	return string(out), nil
}

// Stop stops Dovecot and removes Dir, log included.
func (d *Dovecot) Stop() error {
	_, err := d.Doveadm("", "stop")
	os.RemoveAll(d.Dir)
	return err
}
