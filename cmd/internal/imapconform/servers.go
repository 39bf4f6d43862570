package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"yubin/cmd/internal/testpeers"
)

const (
	confUser = "conform@acme.test"
	confPass = "conform-pw-123"
)

// startYubin builds maild and mailctl and starts maild --dev on a
// temporary data dir with loopback ports, as cmd/internal/bench does,
// with one user.
func startYubin() (target, func(), error) {
	tmp, err := os.MkdirTemp("", "yubin-conform-")
	if err != nil {
		return target{}, nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	bin := filepath.Join(tmp, "bin")
	logf("building maild and mailctl")
	for _, name := range []string{"maild", "mailctl"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, name), "yubin/cmd/"+name)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			cleanup()
			return target{}, nil, fmt.Errorf("build %s: %w", name, err)
		}
	}
	data := filepath.Join(tmp, "data")
	os.MkdirAll(data, 0o750)
	cfg := filepath.Join(tmp, "maild.toml")
	lines := []string{
		`log.format = "json"`, `log.level = "info"`,
		`smtp.listen = ["127.0.0.1:0"]`, `submission.listen = ["127.0.0.1:0"]`,
		`submission.listen_tls = ["127.0.0.1:0"]`, `imap.listen = ["127.0.0.1:0"]`,
		`imap.listen_tls = ["127.0.0.1:0"]`, `pop3.listen = ["127.0.0.1:0"]`,
		`pop3.listen_tls = ["127.0.0.1:0"]`, `http.listen = ["127.0.0.1:0"]`,
		`http.listen_tls = ["127.0.0.1:0"]`, `http.metrics_listen = "127.0.0.1:0"`,
		`imap.max_connections_per_ip = 10000`,
	}
	if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		cleanup()
		return target{}, nil, err
	}
	mailctl := func(stdin string, args ...string) error {
		cmd := exec.Command(filepath.Join(bin, "mailctl"), append([]string{"--data", data}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("mailctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	cmd := exec.Command(filepath.Join(bin, "maild"), "--dev", "--data", data, "--config", cfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		cleanup()
		return target{}, nil, err
	}
	if err := cmd.Start(); err != nil {
		cleanup()
		return target{}, nil, err
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		cleanup()
	}
	addr := make(chan string, 1)
	go func() {
		var imap string
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			if sent {
				continue
			}
			var e map[string]any
			if json.Unmarshal(sc.Bytes(), &e) != nil {
				continue
			}
			switch e["msg"] {
			case "listening":
				if e["proto"] == "imap" {
					imap, _ = e["addr"].(string)
				}
			case "ready":
				addr <- imap
				sent = true
			case "start failed":
				addr <- ""
				sent = true
			}
		}
		if !sent {
			addr <- ""
		}
		io.Copy(io.Discard, stderr)
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(60 * time.Second):
	}
	if a == "" {
		stop()
		return target{}, nil, fmt.Errorf("maild did not get ready with an IMAP listener")
	}
	if err := mailctl("", "domain", "add", "acme.test"); err != nil {
		stop()
		return target{}, nil, err
	}
	if err := mailctl(confPass+"\n", "user", "add", confUser, "--password-stdin"); err != nil {
		stop()
		return target{}, nil, err
	}
	return target{name: "yubin", addr: a, user: confUser, pass: confPass}, stop, nil
}

// dovecotExtensions turns on what Dovecot ships but does not load by
// default, so that the extension groups have a reference: QUOTA (a
// Maildir++ quota of 1 GiB, like a Yubin user's), ACL (RFC 4314; the
// owner has every right; "anyone" allowed), COMPRESS=DEFLATE, and special-use mailboxes
// (RFC 6154) as Yubin creates them for every user.
const dovecotExtensions = `# A test instance: no fsync per message, so that the 10,000-message
# mailbox of -big fills in seconds.
mail_fsync = never
# and no delay after a wrong password (the login group tries one).
auth_failure_delay = 0
mail_plugins = $mail_plugins quota acl zlib
protocol imap {
  mail_plugins = $mail_plugins imap_quota imap_acl imap_zlib
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=1G
  acl = vfile
  # RFC 4314 §2: "anyone" is a standard identifier (Dovecot refuses it
  # unless told).
  acl_anyone = allow
}
namespace inbox {
  inbox = yes
  mailbox Drafts {
    special_use = \Drafts
    auto = create
  }
  mailbox Sent {
    special_use = \Sent
    auto = create
  }
  mailbox Trash {
    special_use = \Trash
    auto = create
  }
  mailbox Junk {
    special_use = \Junk
    auto = create
  }
  mailbox Archive {
    special_use = \Archive
    auto = create
  }
}
`

// startDovecot starts a private Dovecot (testpeers; needs root) on an
// empty Maildir owned by nobody.
func startDovecot() (target, func(), error) {
	dir, err := testpeers.PrivateDir("yubin-conform-maildir-")
	if err != nil {
		return target{}, nil, err
	}
	md := filepath.Join(dir, "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(md, sub), 0o700)
	}
	if out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", testpeers.Nobody, testpeers.Nobody), md).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return target{}, nil, fmt.Errorf("chown Maildir: %v\n%s", err, out)
	}
	d, err := testpeers.StartDovecot(testpeers.DovecotOptions{Maildir: md, IMAP: true, Password: confPass, Config: dovecotExtensions})
	if err != nil {
		os.RemoveAll(dir)
		return target{}, nil, err
	}
	stop := func() { d.Stop(); os.RemoveAll(dir) }
	return target{name: "dovecot", addr: d.Addr(), user: "conform", pass: confPass, reference: true}, stop, nil
}
