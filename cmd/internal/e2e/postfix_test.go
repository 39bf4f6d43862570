package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// postfix is a private Postfix instance playing a remote MX: it listens on
// 127.0.0.1:Port, accepts mail for its Domain and delivers every mailbox
// in virtual_mailbox_maps into a Maildir under its own directory.
type postfix struct {
	t *testing.T
	// Dir is the instance's config, queue and mail directory.
	Dir string
	// Port is its SMTP port on 127.0.0.1.
	Port int
	// Domain is the mail domain it accepts ("remote.test").
	Domain string
}

// startPostfix starts Postfix with a private config directory (never the
// system instance): no chroot, IPv4 loopback only, a free port, virtual
// Maildir delivery for bob@remote.test and alice@remote.test (uid nobody:
// virtual(8) refuses uid 0), and its log in Dir/log/maillog. It is stopped
// at cleanup; its log is shown when the test fails. Skipped when Postfix
// is not installed (required in CI).
func startPostfix(t *testing.T) *postfix {
	t.Helper()
	needTool(t, "postfix")
	if os.Geteuid() != 0 {
		t.Skip("a private Postfix instance needs root to start")
	}
	pfUser, err := user.Lookup("postfix")
	if err != nil {
		t.Skipf("no postfix user: %v", err)
	}
	pfUID, _ := strconv.Atoi(pfUser.Uid)
	pfGID, _ := strconv.Atoi(pfUser.Gid)
	// Not t.TempDir: Postfix's users must be able to traverse it.
	dir, err := os.MkdirTemp("", "yubin-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	for _, d := range []string{"queue", "data", "log", "mail"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.Chown(filepath.Join(dir, "data"), pfUID, pfGID)
	os.Chown(filepath.Join(dir, "log"), pfUID, pfGID)
	os.Chown(filepath.Join(dir, "mail"), nobody, nobody)
	p := &postfix{t: t, Dir: dir, Port: freePort(t), Domain: "remote.test"}

	mainCF := fmt.Sprintf(`compatibility_level = 3.6
config_directory = %[1]s
queue_directory = %[1]s/queue
data_directory = %[1]s/data
maillog_file = %[1]s/log/maillog
maillog_file_prefixes = %[1]s
mail_owner = postfix
myhostname = mx.%[2]s
mydomain = %[2]s
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
biff = no
alias_maps =
alias_database =
virtual_mailbox_domains = %[2]s
virtual_mailbox_base = %[1]s/mail
virtual_mailbox_maps = texthash:%[1]s/vmailbox
virtual_uid_maps = static:%[3]d
virtual_gid_maps = static:%[3]d
virtual_minimum_uid = 1
smtpd_banner = $myhostname ESMTP
`, dir, p.Domain, nobody)
	vmailbox := fmt.Sprintf("bob@%[1]s %[1]s/bob/\nalice@%[1]s %[1]s/alice/\n", p.Domain)
	masterCF := fmt.Sprintf(`127.0.0.1:%d inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
virtual   unix - n n - - virtual
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`, p.Port)
	for name, content := range map[string]string{"main.cf": mainCF, "master.cf": masterCF, "vmailbox": vmailbox} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("postfix", "-c", dir, "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log", "maillog"))
		os.RemoveAll(dir)
		t.Fatalf("postfix start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("postfix", "-c", dir, "stop").CombinedOutput(); err != nil {
			t.Logf("postfix stop: %v\n%s", err, out)
			exec.Command("postfix", "-c", dir, "abort").Run()
		}
		if t.Failed() {
			t.Logf("postfix maillog:\n%s", p.Log())
		}
		os.RemoveAll(dir)
	})
	// master -w returns once initialised; make sure smtpd answers.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("postfix not listening on %s: %v\n%s", p.Addr(), err, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// Addr is Postfix's SMTP address.
func (p *postfix) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)) }

// Log returns Postfix's log so far.
func (p *postfix) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "log", "maillog"))
	return string(b)
}

// Maildir returns the contents of the files in local's new/ Maildir
// folder ("bob" for bob@remote.test).
func (p *postfix) Maildir(local string) []string {
	dir := filepath.Join(p.Dir, "mail", p.Domain, local, "new")
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil {
			out = append(out, string(b))
		}
	}
	return out
}

// WaitMaildir waits until local's Maildir holds at least n messages and
// returns them. Postfix reports delivery only in its log, so this polls.
func (p *postfix) WaitMaildir(local string, n int) []string {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if got := p.Maildir(local); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s@%s has %d messages after 60s, want %d\n%s", local, p.Domain, len(p.Maildir(local)), n, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a TCP port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// remoteZone is the DNS for a Postfix remote MX: remote.test's MX is
// mx.remote.test at 127.0.0.1.
func remoteZone(domain string) []string {
	return []string{
		domain + ". 300 IN MX 10 mx." + domain + ".",
		"mx." + domain + ". 300 IN A 127.0.0.1",
	}
}
