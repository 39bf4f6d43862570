package main

// -compare: the same inbound SMTP load against a private Postfix and the
// same IMAP timings against a private Dovecot, as the e2e tests run them
// (cmd/internal/e2e/postfix_test.go, import_test.go): own config
// directory, loopback port, no chroot, virtual Maildir delivery as
// nobody (virtual(8) and Dovecot refuse uid 0). Needs root.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"time"
)

// nobody owns the Postfix and Dovecot Maildirs.
const nobody = 65534

// compareSkip says why the comparison cannot run ("" when it can).
func compareSkip(tool ...string) string {
	for _, t := range tool {
		if _, err := lookPath(t); err != nil {
			return t + " not installed"
		}
	}
	if os.Geteuid() != 0 {
		return "needs root to start a private instance"
	}
	return ""
}

// privDir is a temporary directory others (postfix, nobody) can traverse.
func privDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	for p := dir; p != "/" && p != os.TempDir() && p != "/tmp"; p = filepath.Dir(p) {
		os.Chmod(p, 0o755)
	}
	return dir, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitListen(addr string, d time.Duration) error {
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

// postfix is a private Postfix accepting mail for domain and delivering
// u0..u9@domain into Maildirs under dir/mail.
type postfix struct {
	dir, domain string
	port        int
}

func startPostfix(domain string) (*postfix, error) {
	pfUser, err := user.Lookup("postfix")
	if err != nil {
		return nil, fmt.Errorf("no postfix user: %v", err)
	}
	pfUID, _ := strconv.Atoi(pfUser.Uid)
	pfGID, _ := strconv.Atoi(pfUser.Gid)
	dir, err := privDir("yubin-bench-postfix-")
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"queue", "data", "log", "mail"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.Chown(filepath.Join(dir, "data"), pfUID, pfGID)
	os.Chown(filepath.Join(dir, "log"), pfUID, pfGID)
	os.Chown(filepath.Join(dir, "mail"), nobody, nobody)
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &postfix{dir: dir, domain: domain, port: port}
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
`, dir, domain, nobody)
	var vmailbox string
	for i := range 10 {
		vmailbox += fmt.Sprintf("u%[2]d@%[1]s %[1]s/u%[2]d/\n", domain, i)
	}
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
`, port)
	for name, content := range map[string]string{"main.cf": mainCF, "master.cf": masterCF, "vmailbox": vmailbox} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	pf, _ := lookPath("postfix")
	if out, err := exec.Command(pf, "-c", dir, "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log", "maillog"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("postfix start: %v\n%s\n%s", err, out, log)
	}
	if err := waitListen(p.addr(), 30*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func (p *postfix) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

func (p *postfix) stop() {
	pf, _ := lookPath("postfix")
	if err := exec.Command(pf, "-c", p.dir, "stop").Run(); err != nil {
		exec.Command(pf, "-c", p.dir, "abort").Run()
	}
	os.RemoveAll(p.dir)
}

// delivered counts the messages in the new/ folders of u0..u9.
func (p *postfix) delivered() int {
	n := 0
	for i := range 10 {
		ents, _ := os.ReadDir(filepath.Join(p.dir, "mail", p.domain, fmt.Sprintf("u%d", i), "new"))
		n += len(ents)
	}
	return n
}

// waitDelivered polls the Maildirs until n messages are in (Postfix
// reports delivery only in its log) and returns when that was seen.
func (p *postfix) waitDelivered(n int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		if got := p.delivered(); got >= n {
			return time.Now(), nil
		} else if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(p.dir, "log", "maillog"))
			if len(log) > 4000 {
				log = log[len(log)-4000:]
			}
			return time.Time{}, fmt.Errorf("postfix: %d of %d messages in the Maildirs after %v\n%s", got, n, timeout, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// comparePostfix runs the inbound loads of the main table against a
// private Postfix: the Go generator (10 recipients) and smtp-source (one
// recipient). yubin holds the matching Yubin rates (msg/s) by row key.
func comparePostfix(add func(what, value, note string), yubin map[string]float64, smtpSource string, n, sessions, size int) error {
	if why := compareSkip("postfix"); why != "" {
		add("inbound SMTP (Postfix)", "-", "skipped: "+why)
		return nil
	}
	logf("compare: starting a private Postfix")
	p, err := startPostfix("acme.test")
	if err != nil {
		return err
	}
	defer p.stop()
	rcpt := func(i int) string { return fmt.Sprintf("u%d@acme.test", i%10) }
	// Warm-up, as for maild: the first messages start its services.
	if _, err := runLoad(loadOptions{addr: p.addr(), sessions: sessions, n: 100, size: size, from: "sender@client.test", rcpt: rcpt}); err != nil {
		return fmt.Errorf("postfix warm-up: %w", err)
	}
	if _, err := p.waitDelivered(100, 2*time.Minute); err != nil {
		return err
	}
	base := p.delivered()
	logf("compare: inbound SMTP to Postfix, Go generator: %d x %d B over %d sessions", n, size, sessions)
	r, err := runLoad(loadOptions{addr: p.addr(), sessions: sessions, n: n, size: size, from: "sender@client.test", rcpt: rcpt})
	if err != nil {
		return fmt.Errorf("postfix inbound: %w", err)
	}
	start := time.Now().Add(-r.elapsed)
	done, err := p.waitDelivered(base+r.n, 5*time.Minute)
	if err != nil {
		return err
	}
	acc, into := r.rate(), float64(r.n)/done.Sub(start).Seconds()
	add("inbound SMTP accepted (Go, 20 sessions, 10 KiB) (Postfix)", fmt.Sprintf("%.0f msg/s", acc),
		fmt.Sprintf("p50 %s, p99 %s; %s", ms(r.p50), ms(r.p99), rateRatio(yubin["go accepted"], acc)))
	add("inbound SMTP into Maildir (Go) (Postfix)", fmt.Sprintf("%.0f msg/s", into), rateRatio(yubin["go maildir"], into))

	if smtpSource == "" {
		add("inbound SMTP (smtp-source) (Postfix)", "-", "smtp-source not installed")
		return nil
	}
	logf("compare: inbound SMTP to Postfix, smtp-source: %d x %d B over %d sessions", n, size, sessions)
	base = p.delivered()
	el, err := runSMTPSource(smtpSource, p.addr(), sessions, n, size, "sender@client.test", "u0@acme.test")
	if err != nil {
		return err
	}
	start = time.Now().Add(-el)
	done, err = p.waitDelivered(base+n, 5*time.Minute)
	if err != nil {
		return err
	}
	acc, into = float64(n)/el.Seconds(), float64(n)/done.Sub(start).Seconds()
	add("inbound SMTP accepted (smtp-source -d -s 20 -l 10240) (Postfix)", fmt.Sprintf("%.0f msg/s", acc), rateRatio(yubin["source accepted"], acc))
	add("inbound SMTP into Maildir (smtp-source) (Postfix)", fmt.Sprintf("%.0f msg/s", into), rateRatio(yubin["source maildir"], into))
	return nil
}

// rateRatio compares rates (higher is better).
func rateRatio(yubin, other float64) string {
	if yubin <= 0 || other <= 0 {
		return ""
	}
	return fmt.Sprintf("Yubin/Postfix %.2fx", yubin/other)
}

// timeRatio compares times (lower is better).
func timeRatio(yubin, other time.Duration, whom string) string {
	if yubin <= 0 || other <= 0 {
		return ""
	}
	return fmt.Sprintf("Yubin time/%s %.2fx", whom, float64(yubin)/float64(other))
}

// dovecotIMAP is a private Dovecot serving IMAP (plaintext, loopback)
// on one Maildir for any user, with the bench password.
type dovecotIMAP struct {
	dir, conf, addr string
}

func startDovecotIMAP(maildir string) (*dovecotIMAP, error) {
	dir, err := privDir("yubin-bench-dovecot-")
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"run", "state", "home"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.Chown(filepath.Join(dir, "home"), nobody, nobody)
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "dovecot.conf")
	cfg := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
disable_plaintext_auth = no
protocols = imap
listen = 127.0.0.1
mail_location = maildir:%[2]s
mail_max_userip_connections = 10000
first_valid_uid = 1
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[4]d
  }
  inet_listener imaps {
    port = 0
  }
}
passdb {
  driver = static
  args = password=%[5]s
}
userdb {
  driver = static
  args = uid=%[3]d gid=%[3]d home=%[1]s/home
}
`, dir, maildir, nobody, port, password)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	d := &dovecotIMAP{dir: dir, conf: conf, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	// Dovecot daemonizes: its output goes to a file, not to pipes its
	// background process would keep open.
	out, err := os.Create(filepath.Join(dir, "start.out"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	bin, _ := lookPath("dovecot")
	start := exec.Command(bin, "-c", conf)
	start.Stdout, start.Stderr = out, out
	if err := start.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start dovecot: %v\n%s", err, b)
	}
	if err := waitListen(d.addr, 10*time.Second); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

func (d *dovecotIMAP) stop() {
	bin, _ := lookPath("doveadm")
	exec.Command(bin, "-c", d.conf, "stop").Run()
	os.RemoveAll(d.dir)
}

// copyMaildir copies a Maildir into a new directory owned by nobody and
// returns it and a cleanup.
func copyMaildir(src string) (string, func(), error) {
	dir, err := privDir("yubin-bench-maildir-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	dst := filepath.Join(dir, "Maildir")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("copy Maildir: %v\n%s", err, out)
	}
	if out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", nobody, nobody), dst).CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("chown Maildir: %v\n%s", err, out)
	}
	return dst, cleanup, nil
}

// compareDovecot runs the IMAP timings and the mixed load of the main
// table against Dovecot on maildir (a copy, taken before maild indexed
// it); yubin holds Yubin's medians by operation name.
func compareDovecot(add func(what, value, note string), maildir, box string, k, reps, clients int, yubin map[string]time.Duration, yubinMixed float64) error {
	logf("compare: starting a private Dovecot on a copy of the %d-message Maildir", k)
	d, err := startDovecotIMAP(maildir)
	if err != nil {
		return err
	}
	defer d.stop()
	ts, err := imapTimings(d.addr, box, k, reps)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(d.dir, "dovecot.log"))
		return fmt.Errorf("dovecot: %w\n%s", err, log)
	}
	for _, t := range ts {
		note := fmt.Sprintf("median of %d", len(t.runs))
		if len(t.runs) == 1 {
			note = "once"
		}
		if r := timeRatio(yubin[t.name], t.median, "Dovecot"); r != "" {
			note += "; " + r
		}
		add(fmt.Sprintf("IMAP %dk: %s (Dovecot)", k/1000, t.name), ms(t.median), note)
	}
	logf("compare: Dovecot IMAP mixed load: %d clients", clients)
	rate, err := imapMixed(d.addr, box, clients, 5*time.Second)
	if err != nil {
		return fmt.Errorf("dovecot mixed load: %w", err)
	}
	note := "same mix"
	if yubinMixed > 0 && rate > 0 {
		note += fmt.Sprintf("; Yubin/Dovecot %.2fx", yubinMixed/rate)
	}
	add(fmt.Sprintf("IMAP %dk: mixed load, %d clients, 5 s (Dovecot)", k/1000, clients), fmt.Sprintf("%.0f cmd/s", rate), note)
	return nil
}
