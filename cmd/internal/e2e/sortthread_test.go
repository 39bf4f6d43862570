package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"yubin/cmd/internal/testpeers"
	"yubin/imapd/thread"
)

// TestSortThreadMatchesDovecot gives Dovecot and imapd/thread the same
// mailbox, rich in what RFC 5256 makes hard (reply prefixes, list tags,
// "(fwd)", "[fwd: ...]", encoded words, accents, missing and invalid
// Date headers, missing, duplicate and quoted Message-IDs, References
// with missing parents and loops, subjects shared by unrelated threads),
// and checks that THREAD REFERENCES, THREAD ORDEREDSUBJECT and SORT on
// every key, plain and REVERSE, give the same answer.
func TestSortThreadMatchesDovecot(t *testing.T) {
	t.Parallel()
	needTool(t, "dovecot")
	needTool(t, "doveadm")
	needRoot(t, "give the Maildir to Dovecot's unprivileged user")

	base := t.TempDir()
	traversable(base)
	maildir := filepath.Join(base, "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(maildir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	msgs := writeSortMailbox(t, maildir, 600, 7)
	filepath.Walk(maildir, func(p string, _ os.FileInfo, _ error) error {
		return os.Chown(p, testpeers.Nobody, testpeers.Nobody)
	})

	d := startDovecotPeer(t, testpeers.DovecotOptions{Maildir: maildir, IMAP: true, Password: "pw"})
	c, err := imapclient.DialInsecure(d.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("u", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != uint32(len(msgs)) {
		t.Fatalf("Dovecot sees %d messages, want %d", sel.NumMessages, len(msgs))
	}

	// Dovecot numbers the messages in its own order: learn it from X-N.
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"X-N"}, Peek: true}
	var every imap.SeqSet
	every.AddRange(1, uint32(len(msgs)))
	fetched, err := c.Fetch(every, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil || len(fetched) != len(msgs) {
		t.Fatalf("fetch: %d messages, %v", len(fetched), err)
	}
	for _, f := range fetched {
		v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(f.FindBodySection(section))), "X-N:"))
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n >= len(msgs) {
			t.Fatalf("message %d: X-N %q", f.SeqNum, v)
		}
		msgs[n].Num = f.SeqNum
	}

	all := &imap.SearchCriteria{}
	for _, algo := range []thread.Algorithm{thread.References, thread.OrderedSubject} {
		data, err := c.Thread(&imapclient.ThreadOptions{Algorithm: imap.ThreadAlgorithm(algo), SearchCriteria: all}).Wait()
		if err != nil {
			t.Fatalf("THREAD %s: %v", algo, err)
		}
		want := formatThreadData(data)
		t.Logf("THREAD %s: %d threads, %.80s...", algo, len(data), want)
		if got := thread.Format(thread.Thread(msgs, algo)); got != want {
			t.Errorf("THREAD %s differs from Dovecot's\n got: %s\nwant: %s\nfirst difference at %d", algo, got, want, firstDiff(got, want))
		}
	}
	for k := thread.Arrival; k <= thread.DisplayTo; k++ {
		for _, reverse := range []bool{false, true} {
			want, err := c.Sort(&imapclient.SortOptions{
				SearchCriteria: all,
				SortCriteria:   []imapclient.SortCriterion{{Key: imapclient.SortKey(k.String()), Reverse: reverse}},
			}).Wait()
			if err != nil {
				t.Fatalf("SORT %v: %v", k, err)
			}
			got := thread.Sort(msgs, []thread.Criterion{{Key: k, Reverse: reverse}})
			if !slices.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Errorf("SORT (REVERSE=%v %v) differs from Dovecot's from position %d: got %v, want %v", reverse, k, i, got[i:min(i+8, len(got))], want[i:min(i+8, len(want))])
			}
		}
	}
}

func firstDiff(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// formatThreadData writes go-imap's parsed THREAD data back in the
// response syntax, to compare with thread.Format.
func formatThreadData(data []imapclient.ThreadData) string {
	var b strings.Builder
	var write func(d imapclient.ThreadData)
	write = func(d imapclient.ThreadData) {
		b.WriteByte('(')
		for i, n := range d.Chain {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatUint(uint64(n), 10))
		}
		if len(d.Chain) > 0 && len(d.SubThreads) > 0 {
			b.WriteByte(' ')
		}
		for _, s := range d.SubThreads {
			write(s)
		}
		b.WriteByte(')')
	}
	for _, d := range data {
		write(d)
	}
	return b.String()
}

// writeSortMailbox writes n messages into maildir/cur and returns what
// imapd/thread is given for each (Num is filled in later), in the order
// of their X-N header.
func writeSortMailbox(t *testing.T, maildir string, n int, seed uint64) []thread.Message {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	base := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	topics := []string{"budget", "Lunch on Friday", "release 1.2", "Überraschung", "café menu", "server down", "BUDGET", "re-org", "[draft] plan", "ideas"}
	prefixes := []string{"", "", "", "Re: ", "RE: ", "Fwd: ", "Re: Re: ", "[team] ", "[team] Re: ", "Re[2]: ", "Fw: ", "re : "}
	people := []thread.Address{
		{Name: "Alice Martin", Mailbox: "alice", Host: "example.org"},
		{Name: "bob", Mailbox: "Bob", Host: "example.org"},
		{Mailbox: "carol", Host: "example.net"},
		{Name: "Émile Zola", Mailbox: "emile", Host: "example.fr"},
		{Name: "=?utf-8?q?Zo=C3=AB?=", Mailbox: "zoe", Host: "example.org"},
		{Name: "Dan", Mailbox: "dan", Host: "Example.COM"},
		{Mailbox: "ALICE", Host: "example.com"},
	}
	var msgs []thread.Message
	var ids []string
	for i := range n {
		m := thread.Message{
			Arrival: base.Add(time.Duration(i)*7*time.Minute + time.Duration(r.IntN(60))*time.Second).Truncate(time.Second),
		}
		var hdr strings.Builder
		fmt.Fprintf(&hdr, "X-N: %d\r\n", i)

		// Date: usually present, in various zones; sometimes missing or
		// unparsable (then the sent date is the arrival).
		switch x := r.IntN(20); {
		case x == 0:
		case x == 1:
			hdr.WriteString("Date: not a date\r\n")
		default:
			zone := time.FixedZone("", (r.IntN(27)-12)*3600)
			d := base.Add(time.Duration(r.IntN(n*7)) * time.Minute).In(zone)
			m.Date = d
			fmt.Fprintf(&hdr, "Date: %s\r\n", d.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
		}

		// Subject
		topic := topics[r.IntN(len(topics))]
		if r.IntN(2) == 0 {
			topic += fmt.Sprintf(" %d", r.IntN(n/10+1))
		}
		subject := prefixes[r.IntN(len(prefixes))] + topic
		switch r.IntN(12) {
		case 0:
			subject += " (fwd)"
		case 1:
			subject = "[Fwd: " + subject + "]"
		case 2:
			subject = "=?utf-8?q?" + qEncode(subject) + "?="
		case 3:
			subject = strings.ReplaceAll(subject, " ", "  ")
		}
		if r.IntN(30) == 0 {
			subject = ""
		}
		m.Subject = subject
		if subject != "" || r.IntN(2) == 0 {
			fmt.Fprintf(&hdr, "Subject: %s\r\n", subject)
		}

		// Addresses (From always, To usually, Cc sometimes)
		m.From = []thread.Address{people[r.IntN(len(people))]}
		if r.IntN(8) != 0 {
			m.To = []thread.Address{people[r.IntN(len(people))], people[r.IntN(len(people))]}
		}
		if r.IntN(3) == 0 {
			m.Cc = []thread.Address{people[r.IntN(len(people))]}
		}
		writeAddrs(&hdr, "From", m.From)
		writeAddrs(&hdr, "To", m.To)
		writeAddrs(&hdr, "Cc", m.Cc)

		// Message-ID: unique, missing, a duplicate of an earlier one, or
		// with a quoted local part (the same ID as unquoted).
		id := fmt.Sprintf("%d.%x@example.org", i, r.Uint32())
		written := "<" + id + ">"
		switch x := r.IntN(40); {
		case x == 0:
			id = ""
		case x == 1 && len(ids) > 0:
			id = ids[r.IntN(len(ids))]
			written = "<" + id + ">"
		case x == 2:
			local, host, _ := strings.Cut(id, "@")
			written = fmt.Sprintf("<%q@%s>", local, host)
		}
		if id != "" {
			m.MessageID = written // raw: imapd/thread normalizes it
			fmt.Fprintf(&hdr, "Message-ID: %s\r\n", written)
			ids = append(ids, id)
		}

		// References / In-Reply-To: a reply to an earlier message (its
		// chain, sometimes truncated or with a missing or looping entry),
		// or to a message that is not in the mailbox.
		if len(ids) > 1 && r.IntN(3) != 0 {
			var refs []string
			recent := ids[max(0, len(ids)-40):]
			for range 1 + r.IntN(4) {
				refs = append(refs, recent[r.IntN(len(recent))])
			}
			if r.IntN(10) == 0 {
				refs = append([]string{fmt.Sprintf("gone%d@example.org", r.IntN(20))}, refs...)
			}
			if r.IntN(2) == 0 {
				m.References = refs
				fmt.Fprintf(&hdr, "References: <%s>\r\n", strings.Join(refs, ">\r\n <"))
			} else {
				m.InReplyTo = refs[len(refs)-1:]
				fmt.Fprintf(&hdr, "In-Reply-To: <%s>\r\n", refs[len(refs)-1])
			}
		}

		body := strings.Repeat("Some text of the message.\r\n", 1+r.IntN(40))
		raw := hdr.String() + "\r\n" + body
		m.Size = int64(len(raw))
		name := filepath.Join(maildir, "cur", fmt.Sprintf("%d.M%dP1.yubin,S=%d:2,", 1700000000+i, i, len(raw)))
		if err := os.WriteFile(name, []byte(raw), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(name, m.Arrival, m.Arrival); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func writeAddrs(b *strings.Builder, field string, as []thread.Address) {
	if len(as) == 0 {
		return
	}
	var parts []string
	for _, a := range as {
		addr := a.Mailbox + "@" + a.Host
		if a.Name != "" {
			parts = append(parts, fmt.Sprintf("%s <%s>", a.Name, addr))
		} else {
			parts = append(parts, addr)
		}
	}
	fmt.Fprintf(b, "%s: %s\r\n", field, strings.Join(parts, ", "))
}

// qEncode is the Q encoding of RFC 2047 §4.2 for UTF-8 text.
func qEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			b.WriteByte('_')
		case c >= 0x80 || c == '=' || c == '?' || c == '_' || c < 0x20:
			fmt.Fprintf(&b, "=%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
