package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"yubin/cmd/internal/testpeers"
)

var words = strings.Fields(`the quarterly report meeting notes budget review project phoenix
	deadline release schedule invoice tax refund travel plans lunch order
	server outage postmortem design proposal draft feedback contract renewal`)

// fillMaildir writes n messages (2-4 KiB) straight into a Maildir, as
// another tool would deliver them: most read in cur/, every 50th flagged,
// the newest tenth unread in new/. maild indexes them at the first SELECT.
func fillMaildir(dir string, n int) error {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	base := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	var b strings.Builder
	for i := range n {
		b.Reset()
		date := base.Add(time.Duration(i) * time.Minute)
		subj := make([]string, 3+rng.IntN(4))
		for j := range subj {
			subj[j] = words[rng.IntN(len(words))]
		}
		fmt.Fprintf(&b, "From: Sender %d <s%d@example.net>\r\nTo: big@acme.test\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.bench@example.net>\r\nContent-Type: text/plain\r\n\r\n",
			i%97, i%97, strings.Join(subj, " "), date.Format(time.RFC1123Z), i)
		size := 2048 + rng.IntN(2048)
		for b.Len() < size {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteString(" lorem ipsum dolor sit amet consectetur\r\n")
		}
		name := fmt.Sprintf("%d.M%dP1.bench,S=%d", date.Unix(), i, b.Len())
		var path string
		switch {
		case i >= n-n/10:
			path = filepath.Join(dir, "new", name)
		case i%50 == 7:
			path = filepath.Join(dir, "cur", name+":2,FS")
		default:
			path = filepath.Join(dir, "cur", name+":2,S")
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func imapLogin(addr, user string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// timing is one measured IMAP/POP3 operation.
type timing struct {
	name   string
	median time.Duration
	runs   []time.Duration
}

// measure runs fn reps times and keeps the times.
func measure(name string, reps int, fn func() error) (timing, error) {
	t := timing{name: name}
	for range reps {
		t0 := time.Now()
		if err := fn(); err != nil {
			return t, fmt.Errorf("%s: %w", name, err)
		}
		t.runs = append(t.runs, time.Since(t0))
	}
	s := slices.Clone(t.runs)
	slices.Sort(s)
	t.median = s[len(s)/2]
	return t, nil
}

// imapTimings measures SELECT, FETCH and SEARCH on user's INBOX of n
// messages. The first SELECT indexes the files (reported apart).
func imapTimings(addr, user string, n, reps int) ([]timing, error) {
	var c *imapclient.Client
	first, err := measure("LOGIN + first SELECT (indexes the files)", 1, func() error {
		var err error
		if c, err = imapLogin(addr, user); err != nil {
			return err
		}
		d, err := c.Select("INBOX", nil).Wait()
		if err == nil && int(d.NumMessages) != n {
			err = fmt.Errorf("SELECT: %d messages, want %d", d.NumMessages, n)
		}
		return err
	})
	if c != nil {
		defer c.Close()
	}
	if err != nil {
		return nil, err
	}
	out := []timing{first}
	all := imap.SeqSetNum()
	all.AddRange(1, 0)
	last50 := imap.SeqSetNum()
	last50.AddRange(uint32(max(1, n-49)), uint32(n))
	ops := []struct {
		name string
		fn   func() error
	}{
		{"SELECT INBOX", func() error { _, err := c.Select("INBOX", nil).Wait(); return err }},
		{"FETCH 1:* (UID FLAGS)", func() error {
			_, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true}).Collect()
			return err
		}},
		{"FETCH 1:* (ENVELOPE RFC822.SIZE)", func() error {
			_, err := c.Fetch(all, &imap.FetchOptions{Envelope: true, RFC822Size: true}).Collect()
			return err
		}},
		{"FETCH last 50 BODY.PEEK[]", func() error {
			_, err := c.Fetch(last50, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
			return err
		}},
		{"SEARCH UNSEEN", func() error {
			_, err := c.Search(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
			return err
		}},
		{"SEARCH SUBJECT \"phoenix\"", func() error {
			_, err := c.Search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "phoenix"}}}, nil).Wait()
			return err
		}},
		{"SEARCH BODY \"postmortem\"", func() error {
			_, err := c.Search(&imap.SearchCriteria{Body: []string{"postmortem"}}, nil).Wait()
			return err
		}},
	}
	for _, op := range ops {
		t, err := measure(op.name, reps, op.fn)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// imapMixed runs clients concurrent sessions for d, each looping SELECT,
// FETCH of the newest 20 envelopes, SEARCH UNSEEN and NOOP, and returns
// commands per second.
func imapMixed(addr, user string, clients int, d time.Duration) (float64, error) {
	var ops atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	start := time.Now()
	for range clients {
		wg.Go(func() {
			c, err := imapLogin(addr, user)
			if err != nil {
				once.Do(func() { firstErr = err })
				return
			}
			defer c.Close()
			for time.Now().Before(stop) {
				sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
				if err == nil {
					s := imap.SeqSetNum()
					s.AddRange(max(1, sel.NumMessages-19), sel.NumMessages)
					_, err = c.Fetch(s, &imap.FetchOptions{Envelope: true, Flags: true}).Collect()
				}
				if err == nil {
					_, err = c.Search(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
				}
				if err == nil {
					err = c.Noop().Wait()
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				ops.Add(4)
			}
		})
	}
	wg.Wait()
	return float64(ops.Load()) / time.Since(start).Seconds(), firstErr
}

// pop3Download logs in and RETRs every message; it returns messages,
// bytes and the time.
func pop3Download(addr, user string) (int, int64, time.Duration, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, 0, 0, err
	}
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriter(c)
	cmd := func(line string) (string, error) {
		if line != "" {
			w.WriteString(line + "\r\n")
			if err := w.Flush(); err != nil {
				return "", err
			}
		}
		resp, err := r.ReadString('\n')
		if err == nil && !strings.HasPrefix(resp, "+OK") {
			err = fmt.Errorf("POP3 %q: %s", strings.Fields(line + " ")[0], strings.TrimSpace(resp))
		}
		return resp, err
	}
	if _, err := cmd(""); err != nil {
		return 0, 0, 0, err
	}
	if _, err := cmd("USER " + user); err != nil {
		return 0, 0, 0, err
	}
	if _, err := cmd("PASS " + password); err != nil {
		return 0, 0, 0, err
	}
	stat, err := cmd("STAT")
	if err != nil {
		return 0, 0, 0, err
	}
	var n int
	var size int64
	fmt.Sscanf(stat, "+OK %d %d", &n, &size)
	start := time.Now()
	var got int64
	for i := 1; i <= n; i++ {
		if _, err := cmd(fmt.Sprintf("RETR %d", i)); err != nil {
			return 0, 0, 0, err
		}
		for {
			line, err := r.ReadSlice('\n')
			if err != nil {
				return 0, 0, 0, err
			}
			if len(line) == 3 && line[0] == '.' {
				break
			}
			got += int64(len(line))
		}
	}
	el := time.Since(start)
	cmd("QUIT")
	return n, got, el, nil
}

// idleConns opens n IMAP connections and reads each greeting; the
// connections stay open (unauthenticated, idle) until closed.
func idleConns(addr string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	buf := make([]byte, 512)
	for range n {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return conns, err
		}
		conns = append(conns, c)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if k, err := c.Read(buf); err != nil || !strings.HasPrefix(string(buf[:k]), "* OK") {
			return conns, fmt.Errorf("greeting %d: %q %v", len(conns), buf[:k], err)
		}
	}
	return conns, nil
}

// benchMailbox is a generated mailbox a load runs on.
type benchMailbox struct {
	n           int    // messages
	user        string // its owner, prefix<n>@acme.test
	dovecotDir  string // a copy of its Maildir for Dovecot; "" when not comparing or Dovecot is missing
	dovecotSkip string // with compare and no dovecotDir: why
}

// eachMailbox parses sizes (the comma-separated value of flag), and for
// each size n creates the user prefix<n>@acme.test with n generated
// messages and calls fn. With compare, Dovecot gets a copy of the same
// files, taken before maild indexes them, removed after fn.
func eachMailbox(m *maild, flag, sizes, prefix string, compare bool, fn func(benchMailbox) error) error {
	for _, s := range strings.Split(sizes, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || k <= 0 {
			return fmt.Errorf("%s %q", flag, sizes)
		}
		b := benchMailbox{n: k, user: fmt.Sprintf("%s%d@acme.test", prefix, k)}
		if err := m.addUser(b.user); err != nil {
			return err
		}
		logf("%s: writing %d messages", b.user, k)
		if err := fillMaildir(m.maildir(b.user), k); err != nil {
			return err
		}
		cleanup := func() {}
		if compare {
			if err := testpeers.Available("dovecot", "doveadm"); err != nil {
				b.dovecotSkip = err.Error()
			} else if b.dovecotDir, cleanup, err = copyMaildir(m.maildir(b.user)); err != nil {
				return err
			}
		}
		err = fn(b)
		cleanup()
		if err != nil {
			return err
		}
	}
	return nil
}
