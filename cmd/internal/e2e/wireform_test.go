package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// One wire form (storage/canonical.go): every message is stored with
// CRLF line ends and no bare CR or LF, and every size a client sees is
// the size of that form.

// canonicalForm is the plain definition of the one stored form: every
// CRLF, bare CR and bare LF is one line end written CRLF, and the last
// line has one. bareCR says whether SMTP must refuse the message.
func canonicalForm(in []byte) (out []byte, bareCR bool) {
	for i := 0; i < len(in); i++ {
		switch in[i] {
		case '\r':
			if i+1 < len(in) && in[i+1] == '\n' {
				i++
			} else {
				bareCR = true
			}
			out = append(out, '\r', '\n')
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, in[i])
		}
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return out, bareCR
}

// firstBareLineEnd returns the offset of the first CR not followed by LF
// or LF not preceded by CR in b, or -1.
func firstBareLineEnd(b []byte) int {
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			return i
		}
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return i
		}
	}
	return -1
}

// dataSim follows go-smtp's DATA reader (data.go in go-smtp v0.25.1)
// byte by byte, to know what the server receives of what a client sends.
type dataSim struct {
	state int
	out   []byte
}

const (
	simBeginLine = iota
	simDot
	simDotCR
	simCR
	simData
	simEOF
)

func (d *dataSim) feed(c byte) {
	switch d.state {
	case simBeginLine:
		if c == '.' {
			d.state = simDot
			return
		}
		d.state = simData
		if c == '\r' {
			d.state = simCR
		}
	case simDot:
		if c == '\r' {
			d.state = simDotCR
			return
		}
		d.state = simData
	case simDotCR:
		if c == '\n' {
			d.state = simEOF
			return
		}
		d.state = simData
	case simCR:
		d.state = simData
		if c == '\n' {
			d.state = simBeginLine
		}
	case simData:
		if c == '\r' {
			d.state = simCR
		}
	}
	d.out = append(d.out, c)
}

// dotStuff returns body as a client sends it in DATA (RFC 5321 §4.5.2):
// a dot where the server sees a line start doubled, the last line ended,
// then the end of data; and what the server receives.
func dotStuff(body []byte) (wire, received []byte) {
	var d dataSim
	put := func(c byte) {
		wire = append(wire, c)
		d.feed(c)
	}
	for _, c := range body {
		if c == '.' && d.state == simBeginLine {
			put('.')
		}
		put(c)
	}
	switch d.state {
	case simCR:
		put('\n')
	case simData:
		put('\r')
		put('\n')
	}
	for _, c := range []byte(".\r\n") {
		put(c)
	}
	if d.state != simEOF {
		panic(fmt.Sprintf("dotStuff(%q): no end of data", body))
	}
	return wire, d.out
}

// wireSMTP is an SMTP client that sends DATA bytes exactly as given
// (go-smtp's and smtplib's clients repair line ends themselves).
type wireSMTP struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

// dialWireSMTP connects to addr; with user set it does STARTTLS and AUTH
// PLAIN (password "secret-pw") as a submission client.
func dialWireSMTP(t *testing.T, addr, user string) *wireSMTP {
	return dialWire(t, addr, user, false)
}

// dialWire is dialWireSMTP, or with implicit set a client of port 465
// (TLS from the first byte, then AUTH PLAIN).
func dialWire(t *testing.T, addr, user string, implicit bool) *wireSMTP {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if implicit {
		c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	}
	w := &wireSMTP{t: t, c: c, r: bufio.NewReader(c)}
	w.expect("", "220")
	w.expect("EHLO client.test", "250")
	if implicit {
		w.expect("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00secret-pw")), "235")
	} else if user != "" {
		w.expect("STARTTLS", "220")
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		w.c, w.r = tc, bufio.NewReader(tc)
		w.expect("EHLO client.test", "250")
		w.expect("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00secret-pw")), "235")
	}
	return w
}

// reply reads one (multi-line) reply and returns its last line.
func (w *wireSMTP) reply() string {
	w.t.Helper()
	for {
		l, err := w.r.ReadString('\n')
		if err != nil {
			w.t.Fatalf("read reply: %v", err)
		}
		l = strings.TrimRight(l, "\r\n")
		if len(l) < 4 || l[3] != '-' {
			return l
		}
	}
}

func (w *wireSMTP) cmd(line string) string {
	w.t.Helper()
	if line != "" {
		if _, err := fmt.Fprintf(w.c, "%s\r\n", line); err != nil {
			w.t.Fatal(err)
		}
	}
	return w.reply()
}

func (w *wireSMTP) expect(line, code string) string {
	w.t.Helper()
	r := w.cmd(line)
	if !strings.HasPrefix(r, code) {
		w.t.Fatalf("%q: got %q, want %s", line, r, code)
	}
	return r
}

// send runs one transaction with data written as is after the 354 and
// returns the reply to it.
func (w *wireSMTP) send(from, to string, data []byte) string {
	w.t.Helper()
	w.expect("MAIL FROM:<"+from+">", "250")
	w.expect("RCPT TO:<"+to+">", "250")
	w.expect("DATA", "354")
	if _, err := w.c.Write(data); err != nil {
		w.t.Fatal(err)
	}
	return w.reply()
}

// randomBody returns a message with a parseable header naming the case
// and a body of random pieces: bare LF, bare CR (unless noCR), CRLF,
// dots at line starts, long lines.
func randomBody(rng *rand.Rand, id string, noCR bool) []byte {
	eol := func() string {
		if rng.IntN(2) == 0 {
			return "\n"
		}
		return "\r\n"
	}
	var b bytes.Buffer
	b.WriteString("From: alice@acme.test" + eol() + "To: alice@acme.test" + eol() + "Subject: " + id + eol() + eol())
	pieces := []string{"a", "b c", ".", "..", "\n", "\r\n", "\r\n.", "\n.", "\r\n.\r\n", "\n.\n", "\r", "\r.\r", "\r\r\n", strings.Repeat("x", 1500), "\t"}
	for range rng.IntN(60) {
		p := pieces[rng.IntN(len(pieces))]
		if noCR {
			p = strings.ReplaceAll(p, "\r", "")
		}
		b.WriteString(p)
		if p == strings.Repeat("x", 1500) {
			b.WriteString("\r\n") // under the 2,000-octet line limit
		}
	}
	return b.Bytes()
}

// TestWireFormProperty sends random bodies by SMTP, submission and IMAP
// APPEND, drops more into the Maildir as another tool would, and checks that every stored message is in the one wire form
// and that every size agrees: IMAP RFC822.SIZE, BINARY.SIZE[],
// len(BODY[]), POP3 LIST and STATUS SIZE. A body with a bare CR is
// refused by SMTP and submission with 554 5.6.0 and made CRLF by APPEND.
func TestWireFormProperty(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("WIREFORM_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("WIREFORM_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 15))
	s := startServer(t, "")
	s.addUser("alice@acme.test")

	// want maps a case's Subject to its canonical body (after the header).
	want := map[string][]byte{}
	wantWhole := map[string][]byte{} // APPEND: the whole message
	mx := dialWireSMTP(t, s.smtpAddr(), "")
	sub := dialWireSMTP(t, s.addrs["submission"], "alice@acme.test")
	imapc := dialIMAP(t, s, nil)
	if err := imapc.Login("alice@acme.test", "secret-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	refused := 0
	for i := range 36 {
		id := fmt.Sprintf("case-%d", i)
		msg := randomBody(rng, id, i%4 != 3)
		switch i % 3 {
		case 0, 1:
			w := mx
			if i%3 == 1 {
				w = sub
			}
			data, received := dotStuff(msg)
			canon, bareCR := canonicalForm(received)
			if bareCR {
				if r := w.send("alice@acme.test", "alice@acme.test", data); !strings.HasPrefix(r, "554 5.6.0") {
					t.Fatalf("%s (%q) with a bare CR: %q, want 554 5.6.0", id, msg, r)
				}
				refused++
				// A client that sent a bare CR may have sent a line of a
				// dot ended by it that the data guard holds against its
				// next message (smtpd/dataguard.go): start afresh.
				if i%3 == 0 {
					mx = dialWireSMTP(t, s.smtpAddr(), "")
				} else {
					sub = dialWireSMTP(t, s.addrs["submission"], "alice@acme.test")
				}
				continue
			}
			if r := w.send("alice@acme.test", "alice@acme.test", data); !strings.HasPrefix(r, "250") {
				t.Fatalf("%s (%q): %q", id, msg, r)
			}
			_, body, _ := bytes.Cut(canon, []byte("\r\n\r\n"))
			want[id] = body
		case 2:
			cmd := imapc.Append("INBOX", int64(len(msg)), nil)
			if _, err := cmd.Write(msg); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := cmd.Wait(); err != nil {
				t.Fatalf("APPEND %s: %v", id, err)
			}
			canon, _ := canonicalForm(msg)
			_, body, _ := bytes.Cut(canon, []byte("\r\n\r\n"))
			want[id], wantWhole[id] = body, canon
		}
	}
	t.Logf("%d stored, %d refused for a bare CR", len(want), refused)
	s.waitDelivered("alice@acme.test", len(want)-len(wantWhole))
	// Files another tool wrote into the Maildir, bytes as they are: read
	// and counted in the one wire form, left unchanged on disk.
	for i := range 6 {
		id := fmt.Sprintf("foreign-%d", i)
		msg := randomBody(rng, id, i%2 == 0)
		name := fmt.Sprintf("%d.M%dP1.othertool", time.Now().Unix(), i)
		if err := os.WriteFile(filepath.Join(s.maildir("alice@acme.test"), "new", name), msg, 0o600); err != nil {
			t.Fatal(err)
		}
		canon, _ := canonicalForm(msg)
		_, body, _ := bytes.Cut(canon, []byte("\r\n\r\n"))
		want[id], wantWhole[id] = body, canon
	}

	if _, err := imapc.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := imapc.Fetch(all, &imap.FetchOptions{
		UID:               true,
		RFC822Size:        true,
		BodySection:       []*imap.FetchItemBodySection{{Peek: true}},
		BinarySectionSize: []*imap.FetchItemBinarySectionSize{{}},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != len(want) {
		t.Fatalf("INBOX has %d messages, want %d", len(msgs), len(want))
	}
	subject := regexp.MustCompile(`(?m)^Subject: ((?:case|foreign)-\d+)\r$`)
	var total int64
	sizes := map[imap.UID]int64{}
	for _, m := range msgs {
		if len(m.BodySection) != 1 || len(m.BinarySectionSize) != 1 {
			t.Fatalf("uid %d: fetch returned %d sections, %d binary sizes", m.UID, len(m.BodySection), len(m.BinarySectionSize))
		}
		body := m.BodySection[0].Bytes
		sm := subject.FindSubmatch(body)
		if sm == nil {
			t.Fatalf("uid %d without a case subject:\n%q", m.UID, body)
		}
		id := string(sm[1])
		if n := int64(len(body)); m.RFC822Size != n || int64(m.BinarySectionSize[0].Size) != n {
			t.Errorf("%s: RFC822.SIZE %d, BINARY.SIZE[] %d, len(BODY[]) %d", id, m.RFC822Size, m.BinarySectionSize[0].Size, n)
		}
		if i := firstBareLineEnd(body); i >= 0 {
			t.Errorf("%s: BODY[] has a bare CR or LF at %d: %q", id, i, body)
		}
		if whole, ok := wantWhole[id]; ok && !bytes.Equal(body, whole) {
			t.Errorf("%s: BODY[] = %q\nwant %q", id, body, whole)
		}
		if _, got, _ := bytes.Cut(body, []byte("\r\n\r\n")); !bytes.Equal(got, want[id]) {
			t.Errorf("%s: body = %q\nwant %q", id, got, want[id])
		}
		total += m.RFC822Size
		sizes[m.UID] = m.RFC822Size
	}
	st, err := imapc.Status("INBOX", &imap.StatusOptions{Size: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.Size == nil || *st.Size != total {
		t.Errorf("STATUS SIZE %v, sum of RFC822.SIZE %d", st.Size, total)
	}

	// POP3 LIST, in UID order as IMAP's sequence numbers.
	list := popList(t, s)
	if len(list) != len(msgs) {
		t.Fatalf("POP3 LIST has %d messages, IMAP %d", len(list), len(msgs))
	}
	for i, m := range msgs {
		if list[i] != m.RFC822Size {
			t.Errorf("message %d (uid %d): POP3 LIST %d, RFC822.SIZE %d", i+1, m.UID, list[i], m.RFC822Size)
		}
	}
}

// popList returns the sizes POP3 LIST gives for alice's maildrop.
func popList(t *testing.T, s *server) []int64 {
	t.Helper()
	c, err := net.Dial("tcp", s.addrs["pop3"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	line := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("pop3: %v", err)
		}
		return strings.TrimRight(l, "\r\n")
	}
	line()
	for _, cmd := range []string{"USER alice@acme.test", "PASS secret-pw", "LIST"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		if l := line(); !strings.HasPrefix(l, "+OK") {
			t.Fatalf("%s: %q", cmd, l)
		}
	}
	var sizes []int64
	for {
		l := line()
		if l == "." {
			break
		}
		var n int
		var size int64
		if _, err := fmt.Sscan(l, &n, &size); err != nil {
			t.Fatalf("LIST line %q", l)
		}
		sizes = append(sizes, size)
	}
	fmt.Fprintf(c, "QUIT\r\n")
	return sizes
}

// bdat sends one BDAT chunk and returns the reply.
func (w *wireSMTP) bdat(chunk string, last bool) string {
	w.t.Helper()
	cmd := fmt.Sprintf("BDAT %d", len(chunk))
	if last {
		cmd += " LAST"
	}
	if _, err := fmt.Fprintf(w.c, "%s\r\n%s", cmd, chunk); err != nil {
		w.t.Fatal(err)
	}
	return w.reply()
}

// TestBDATWireForm: BDAT (RFC 3030) chunks are held to the one wire form
// as DATA is, also when a line end is split between chunks: bare LF
// becomes CRLF, a bare CR refuses the message with 554 5.6.0.
func TestBDATWireForm(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("alice@acme.test")
	w := dialWireSMTP(t, s.smtpAddr(), "")
	for _, tc := range []struct {
		chunks []string
		reply  string
	}{
		{[]string{"Subject: bdat-1\n\nbare LF\n.\nend"}, "250"},
		{[]string{"Subject: bdat-2\r\n\r\nsplit CRLF\r", "\nend\r\n"}, "250"},
		{[]string{"Subject: bdat-3\r\n\r\nbare\rCR\r\n"}, "554 5.6.0"},
		{[]string{"Subject: bdat-4\r\n\r\nsplit bare CR\r", "X\r\n"}, "554 5.6.0"},
	} {
		w.expect("MAIL FROM:<sender@client.test>", "250")
		w.expect("RCPT TO:<alice@acme.test>", "250")
		var r string
		for i, c := range tc.chunks {
			last := i == len(tc.chunks)-1
			if r = w.bdat(c, last); !last && !strings.HasPrefix(r, "250") {
				break
			}
		}
		if !strings.HasPrefix(r, tc.reply) {
			t.Errorf("%q: %q, want %s", tc.chunks, r, tc.reply)
		}
		if !strings.HasPrefix(r, "250") {
			w.expect("RSET", "250")
		}
	}
	s.waitDelivered("alice@acme.test", 2)
	files := s.newFiles("alice@acme.test")
	if len(files) != 2 {
		t.Fatalf("alice has %d messages, want 2", len(files))
	}
	for _, f := range files {
		if i := firstBareLineEnd([]byte(f)); i >= 0 {
			t.Errorf("stored with a bare line end at %d: %q", i, f)
		}
		if !strings.HasSuffix(f, "\r\n\r\nbare LF\r\n.\r\nend\r\n") && !strings.HasSuffix(f, "\r\n\r\nsplit CRLF\r\nend\r\n") {
			t.Errorf("stored %q", f)
		}
	}
}
