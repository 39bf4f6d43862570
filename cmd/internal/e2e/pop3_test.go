package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// inboxFiles returns the contents of every file in a user's INBOX (new/
// and cur/).
func (s *server) inboxFiles(addr string) []string {
	s.t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(s.maildir(addr), sub)
		ents, err := os.ReadDir(dir)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				s.t.Fatal(err)
			}
			out = append(out, string(b))
		}
	}
	return out
}

// deliverPOP3Mailbox sends n messages to user over SMTP and waits until
// they are delivered. Every third body has lines that need dot-stuffing.
func deliverPOP3Mailbox(t *testing.T, s *server, user string, n int) {
	t.Helper()
	for i := range n {
		body := fmt.Sprintf("payload %d\r\n", i)
		if i%3 == 0 {
			body += ".leading dot\r\n..two dots\r\n.\r\nafter a lone dot\r\n"
		}
		msg := fmt.Sprintf("From: sender@remote.test\r\nTo: %s\r\nSubject: pop3 test %d\r\nMessage-ID: <pop3.%d@remote.test>\r\n\r\n%s", user, i, i, body)
		if err := sendWithGo(s.smtpAddr(), "sender@remote.test", []string{user}, []byte(msg)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	s.waitDelivered(user, n)
}

const poplibScript = `
import json, poplib, ssl, sys
mode, addr, user, pw = sys.argv[1:5]
host, port = addr.rsplit(":", 1)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode == "stls":
    p = poplib.POP3(host, int(port), timeout=30)
    caps = p.capa()
    assert "STLS" in caps and "UIDL" in caps and "TOP" in caps, caps
    p.stls(context=ctx)
else:
    p = poplib.POP3_SSL(host, int(port), context=ctx, timeout=30)
caps = p.capa()
assert "USER" in caps and "STLS" not in caps and caps["IMPLEMENTATION"] == ["Yubin"], caps
p.user(user)
p.pass_(pw)
count, size = p.stat()
resp, listing, _ = p.list()
sizes = {int(l.split()[0]): int(l.split()[1]) for l in listing}
resp, uidls, _ = p.uidl()
uidl = {int(l.split()[0]): l.split()[1].decode() for l in uidls}
msgs = {}
for n in sorted(sizes):
    resp, lines, octets = p.retr(n)
    data = b"\r\n".join(lines) + b"\r\n"
    assert len(data) == sizes[n], (n, len(data), sizes[n])
    msgs[n] = data.decode("latin-1")
resp, top, _ = p.top(1, 0) if sizes else (None, [], 0)
out = {"count": count, "size": size, "sizes": sizes, "uidl": uidl, "msgs": msgs,
       "top": (b"\r\n".join(top) + b"\r\n").decode("latin-1")}
for n in sys.argv[5:]:
    p.dele(int(n))
p.quit()
json.dump(out, sys.stdout)
`

type poplibResult struct {
	Count int               `json:"count"`
	Size  int               `json:"size"`
	Sizes map[string]int    `json:"sizes"`
	UIDL  map[string]string `json:"uidl"`
	Msgs  map[string]string `json:"msgs"`
	Top   string            `json:"top"`
}

func runPoplib(t *testing.T, py, mode, addr, user string, dele ...int) poplibResult {
	t.Helper()
	args := []string{"-c", poplibScript, mode, addr, user, "secret-pw"}
	for _, n := range dele {
		args = append(args, fmt.Sprint(n))
	}
	cmd := exec.Command(py, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("poplib %s: %v\n%s", mode, err, stderr.String())
	}
	var r poplibResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("poplib output %q: %v", out, err)
	}
	return r
}

func TestPOP3PythonPoplib(t *testing.T) {
	t.Parallel()
	py := needTool(t, "python3")
	s := startServer(t, "")
	user := "paula@acme.test"
	s.addUser(user)
	deliverPOP3Mailbox(t, s, user, 4)
	files := s.inboxFiles(user)
	slices.Sort(files)

	// POP3 with STLS on the plain port: read everything, delete message 1.
	r := runPoplib(t, py, "stls", s.addrs["pop3"], user, 1)
	if r.Count != 4 || len(r.Msgs) != 4 {
		t.Fatalf("STAT count %d, %d messages retrieved, want 4", r.Count, len(r.Msgs))
	}
	var got []string
	total := 0
	for n, m := range r.Msgs {
		got = append(got, m)
		total += r.Sizes[n]
	}
	slices.Sort(got)
	if !slices.Equal(got, files) {
		t.Errorf("retrieved messages differ from the Maildir files:\n got %q\nwant %q", got, files)
	}
	if total != r.Size {
		t.Errorf("STAT size %d, sum of LIST %d", r.Size, total)
	}
	if hdr, _, ok := strings.Cut(r.Msgs["1"], "\r\n\r\n"); !ok || r.Top != hdr+"\r\n\r\n" {
		t.Errorf("TOP 1 0 = %q, want the header of message 1", r.Top)
	}
	first := r.Msgs["1"]
	if n := len(s.inboxFiles(user)); n != 3 {
		t.Fatalf("after DELE 1 and QUIT: %d files, want 3", n)
	}

	// POP3_SSL on the implicit TLS port: the same ids for the rest, then
	// delete them all.
	r2 := runPoplib(t, py, "ssl", s.addrs["pop3s"], user, 1, 2, 3)
	if r2.Count != 3 {
		t.Fatalf("second session: %d messages, want 3", r2.Count)
	}
	for n, m := range r2.Msgs {
		if m == first {
			t.Errorf("deleted message still served as %s", n)
		}
		for n1, m1 := range r.Msgs {
			if m1 == m && r.UIDL[n1] != r2.UIDL[n] {
				t.Errorf("UIDL of the same message changed: %s then %s", r.UIDL[n1], r2.UIDL[n])
			}
		}
	}
	if n := len(s.inboxFiles(user)); n != 0 {
		t.Errorf("after deleting everything: %d files left", n)
	}
	s.logs.wait(t, 10*time.Second, func(e logEntry) bool {
		return e.str("msg") == "deleted" && e.str("proto") == "pop3s" && e.str("user") == user
	})
	if strings.Contains(s.logs.dump(), "secret-pw") {
		t.Errorf("the password appears in the log")
	}
}

func TestPOP3Curl(t *testing.T) {
	t.Parallel()
	curl := needTool(t, "curl")
	s := startServer(t, "")
	user := "cora@acme.test"
	s.addUser(user)
	deliverPOP3Mailbox(t, s, user, 1)
	files := s.inboxFiles(user)
	out, err := exec.Command(curl, "-sS", "-k", "--user", user+":secret-pw", "pop3s://"+s.addrs["pop3s"]+"/1").Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	if string(out) != files[0] {
		t.Errorf("curl RETR 1 = %q, want %q", out, files[0])
	}
	out, err = exec.Command(curl, "-sS", "-k", "--user", user+":secret-pw", "pop3s://"+s.addrs["pop3s"]+"/").Output()
	if err != nil {
		t.Fatalf("curl LIST: %v", err)
	}
	if want := fmt.Sprintf("1 %d\r\n", len(files[0])); string(out) != want {
		t.Errorf("curl LIST = %q, want %q", out, want)
	}
	// A wrong password is refused.
	if err := exec.Command(curl, "-sS", "-k", "--user", user+":wrong", "pop3s://"+s.addrs["pop3s"]+"/1").Run(); err == nil {
		t.Errorf("curl with a wrong password succeeded")
	}
}

func TestPOP3FetchmailHundredMessages(t *testing.T) {
	t.Parallel()
	fetchmail := needTool(t, "fetchmail")
	s := startServer(t, "")
	user := "fred@acme.test"
	s.addUser(user)
	const n = 100
	deliverPOP3Mailbox(t, s, user, n)

	dir := t.TempDir()
	mbox := filepath.Join(dir, "out.mbox")
	host, port, _ := net.SplitHostPort(s.addrs["pop3s"])
	rc := fmt.Sprintf(`set no syslog
poll %s service %s protocol POP3 uidl timeout 60
  user "%s" there with password "secret-pw" is "localuser" here
  options ssl no sslcertck nokeep fetchall
  mda "cat >> %s"
`, host, port, user, mbox)
	rcPath := filepath.Join(dir, "fetchmailrc")
	if err := os.WriteFile(rcPath, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fetchmail, "--nodetach", "--norewrite", "-f", rcPath)
	cmd.Env = append(os.Environ(), "HOME="+dir, "FETCHMAILHOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fetchmail: %v\n%s", err, out)
	}
	got, err := os.ReadFile(mbox)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("Message-ID: <pop3.%d@remote.test>", i)
		if c := strings.Count(string(got), id); c != 1 {
			t.Errorf("%s fetched %d times", id, c)
		}
	}
	if c := strings.Count(string(got), "\n..two dots"); c != (n+2)/3 || strings.Contains(string(got), "...two dots") {
		t.Errorf("dot-stuffing not undone: %d lines with two dots, want %d", c, (n+2)/3)
	}
	if left := len(s.inboxFiles(user)); left != 0 {
		t.Errorf("%d messages left on the server after fetchmail with no keep", left)
	}
}

// pop3Dial is a raw POP3 client on the plain port (plaintext logins are
// allowed from loopback in --dev).
func pop3Dial(t *testing.T, addr string) (net.Conn, func(string) string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	read := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return strings.TrimRight(l, "\r\n")
	}
	if g := read(); !strings.HasPrefix(g, "+OK") {
		t.Fatalf("greeting %q", g)
	}
	return c, func(cmd string) string {
		t.Helper()
		fmt.Fprintf(c, "%s\r\n", cmd)
		l := read()
		if !strings.HasPrefix(l, "+OK") {
			t.Fatalf("%s: %q", strings.Fields(cmd)[0], l)
		}
		return l
	}
}

func TestPOP3DroppedConnectionDeletesNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	user := "dora@acme.test"
	s.addUser(user)
	deliverPOP3Mailbox(t, s, user, 2)
	c, cmd := pop3Dial(t, s.addrs["pop3"])
	cmd("USER " + user)
	cmd("PASS secret-pw")
	cmd("DELE 1")
	cmd("DELE 2")
	c.Close()
	s.logs.wait(t, 10*time.Second, func(e logEntry) bool {
		return e.str("msg") == "disconnected" && e.str("proto") == "pop3" && e.str("user") == user
	})
	if n := len(s.inboxFiles(user)); n != 2 {
		t.Errorf("after a dropped connection: %d messages, want 2", n)
	}
	// The maildrop lock is free again, and the messages are all there.
	_, cmd = pop3Dial(t, s.addrs["pop3"])
	cmd("USER " + user)
	if r := cmd("PASS secret-pw"); !strings.HasPrefix(r, "+OK Maildrop has 2 messages") {
		t.Errorf("PASS = %q", r)
	}
}

func TestPOP3DeletionSeenByIMAP(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	if s.addrs["imaps"] == "" {
		t.Fatal("maild serves no IMAPS listener")
	}
	user := "ivy@acme.test"
	s.addUser(user)
	deliverPOP3Mailbox(t, s, user, 3)
	ic, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if err := ic.Login(user, "secret-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// POP3 works while the IMAP session has the mailbox selected.
	_, cmd := pop3Dial(t, s.addrs["pop3"])
	cmd("USER " + user)
	cmd("PASS secret-pw")
	cmd("DELE 2")
	cmd("QUIT")
	if err := ic.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	ic2, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer ic2.Close()
	if err := ic2.Login(user, "secret-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	st, err := ic2.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.NumMessages == nil || *st.NumMessages != 2 {
		t.Errorf("IMAP STATUS after the POP3 deletion: %v messages, want 2", st.NumMessages)
	}
}
