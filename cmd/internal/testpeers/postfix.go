package testpeers

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// PostfixOptions say what a private Postfix accepts.
type PostfixOptions struct {
	// Domain is the one mail domain it accepts ("remote.test"); its
	// hostname is mx.Domain. Required.
	Domain string
	// Mailboxes are the local parts with a Maildir ("bob" for
	// bob@Domain); mail to any other address of Domain is refused with
	// 550.
	Mailboxes []string
	// MainCF are extra main.cf lines ("smtpd_forbid_bare_newline =
	// reject"), appended after the defaults, so they win.
	MainCF []string
}

// Postfix is a private Postfix playing a remote MX: it listens on
// 127.0.0.1:Port and delivers each mailbox's mail into the Maildir
// Dir/mail/Domain/LOCAL/, owned by Nobody. Its log is Dir/log/maillog.
type Postfix struct {
	// Dir is the instance's config, queue, log and mail directory.
	Dir string
	// Port is its SMTP port on 127.0.0.1.
	Port int
	// Domain is the mail domain it accepts.
	Domain string

	mailboxes []string
	bin       string
}

// StartPostfix starts Postfix with a private config directory (never the
// system instance): no chroot, IPv4 loopback only, no DNS, a free port,
// virtual Maildir delivery as Nobody. It returns once smtpd answers.
// Without root, the postfix command or the postfix user, the error
// matches ErrUnavailable.
func StartPostfix(opts PostfixOptions) (*Postfix, error) {
	if opts.Domain == "" {
		return nil, errors.New("testpeers: PostfixOptions.Domain is empty")
	}
	if err := Available("postfix"); err != nil {
		return nil, err
	}
	pfUser, err := user.Lookup("postfix")
	if err != nil {
		return nil, unavailable(fmt.Sprintf("no postfix user: %v", err))
	}
	pfUID, _ := strconv.Atoi(pfUser.Uid)
	pfGID, _ := strconv.Atoi(pfUser.Gid)
	bin, _ := LookPath("postfix")
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := PrivateDir("yubin-postfix-")
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"queue", "data", "log", "mail"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.Chown(filepath.Join(dir, "data"), pfUID, pfGID)
	os.Chown(filepath.Join(dir, "log"), pfUID, pfGID)
	os.Chown(filepath.Join(dir, "mail"), Nobody, Nobody)
	p := &Postfix{Dir: dir, Port: port, Domain: opts.Domain, mailboxes: opts.Mailboxes, bin: bin}

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
`, dir, opts.Domain, Nobody)
	for _, l := range opts.MainCF {
		mainCF += l + "\n"
	}
	var vmailbox strings.Builder
	for _, local := range opts.Mailboxes {
		fmt.Fprintf(&vmailbox, "%[2]s@%[1]s %[1]s/%[2]s/\n", opts.Domain, local)
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
	for name, content := range map[string]string{"main.cf": mainCF, "master.cf": masterCF, "vmailbox": vmailbox.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if out, err := exec.Command(bin, "-c", dir, "start").CombinedOutput(); err != nil {
		log := p.Log()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("postfix start: %v\n%s\n%s", err, out, log)
	}
	// master -w returns once initialised; make sure smtpd answers.
	if err := WaitListen(p.Addr(), 30*time.Second); err != nil {
		log := p.Log()
		p.Stop()
		return nil, fmt.Errorf("postfix: %v\n%s", err, log)
	}
	return p, nil
}

// Addr is Postfix's SMTP address.
func (p *Postfix) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)) }

// Log returns Postfix's log so far.
func (p *Postfix) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "log", "maillog"))
	return string(b)
}

// Maildir returns the contents of the files in local's new/ Maildir
// folder ("bob" for bob@Domain).
func (p *Postfix) Maildir(local string) []string {
	dir := p.newDir(local)
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

// Delivered counts the messages in the new/ folders of all the
// mailboxes, without reading them. Postfix reports delivery only in its
// log: callers poll this or Maildir.
func (p *Postfix) Delivered() int {
	n := 0
	for _, local := range p.mailboxes {
		ents, _ := os.ReadDir(p.newDir(local))
		n += len(ents)
	}
	return n
}

func (p *Postfix) newDir(local string) string {
	return filepath.Join(p.Dir, "mail", p.Domain, local, "new")
}

// Stop stops Postfix (aborting it when `postfix stop` fails) and removes
// Dir, log included; the error is that of `postfix stop`.
func (p *Postfix) Stop() error {
	out, err := exec.Command(p.bin, "-c", p.Dir, "stop").CombinedOutput()
	if err != nil {
		exec.Command(p.bin, "-c", p.Dir, "abort").Run()
		err = fmt.Errorf("postfix stop: %v\n%s", err, out)
	}
	os.RemoveAll(p.Dir)
	return err
}
