package e2e

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// crashMsgRe finds the test's Message-ID and attempt header in a stored
// message; crashEndRe its last line, so a truncated file shows.
var (
	crashMsgRe = regexp.MustCompile(`Message-ID: <loop\.(\d+)@crashloop>\r\nX-Attempt: (\d+)\r\n`)
	crashEndRe = regexp.MustCompile(`end of loop\.(\d+)\r\n$`)
)

// crashLoopMessage is message id's text for its attempt-th sending: about
// 4 KiB, ending with a line that names it.
func crashLoopMessage(id, attempt int) string {
	return fmt.Sprintf("From: load@remote.test\r\nSubject: loop %d\r\nMessage-ID: <loop.%d@crashloop>\r\nX-Attempt: %d\r\n\r\n%s\r\nend of loop.%d\r\n",
		id, id, attempt, strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 64), id)
}

// storedMessage is one message file of a Maildir folder.
type storedMessage struct {
	name    string // "new/..." or "cur/..."
	id      int    // -1 when the file carries no test Message-ID
	attempt int
	whole   bool // ends with its own last line
}

// maildirMessages reads every file of addr's INBOX new/ and cur/.
func (s *server) maildirMessages(addr string) []storedMessage {
	s.t.Helper()
	var out []storedMessage
	for _, name := range s.maildirList(addr, "") {
		b, err := os.ReadFile(filepath.Join(s.maildir(addr), name))
		if err != nil {
			s.t.Fatal(err)
		}
		m := storedMessage{name: name, id: -1}
		if sm := crashMsgRe.FindSubmatch(b); sm != nil {
			m.id, _ = strconv.Atoi(string(sm[1]))
			m.attempt, _ = strconv.Atoi(string(sm[2]))
			if em := crashEndRe.FindSubmatch(b); em != nil && string(em[1]) == string(sm[1]) {
				m.whole = true
			}
		}
		out = append(out, m)
	}
	return out
}

// crashLoopEnvInt reads a positive integer from the environment.
func crashLoopEnvInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// TestCrashLoopLosesNothing (issue 10, item 3) sends N numbered messages
// over 4 parallel SMTP connections to two local users while maild is
// killed with SIGKILL at pseudo-random moments and restarted. The senders
// reconnect and resend every message that has not had its 250. Then every
// message that got a 250 must be in its recipient's Maildir (duplicates are
// reported, not failed: a crash between the Maildir rename and the queue
// record delivers twice), nothing half-written may be visible, over IMAP
// every message is complete, and the queue must be empty.
//
// YUBIN_CRASH_N (default 200) sets the message count, YUBIN_CRASH_KILLS
// (default 3) the number of kills, YUBIN_CRASH_SEED the seed (default: the
// clock, logged so a failure can be replayed).
func TestCrashLoopLosesNothing(t *testing.T) {
	t.Parallel()
	n := crashLoopEnvInt(t, "YUBIN_CRASH_N", 200)
	kills := crashLoopEnvInt(t, "YUBIN_CRASH_KILLS", 3)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("YUBIN_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("YUBIN_CRASH_SEED=%q: %v", v, err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	// Kill when the count of 250s reaches each of these points, then
	// after a further random 0-20 ms, so kills land in any phase.
	var points []int
	for range kills {
		points = append(points, n/10+rng.IntN(n*8/10+1))
	}
	sort.Ints(points)
	delays := make([]time.Duration, kills)
	for i := range delays {
		delays[i] = time.Duration(rng.IntN(20_000)) * time.Microsecond
	}
	t.Logf("YUBIN_CRASH_SEED=%d: %d messages, kills after %v acknowledgements (+%v)", seed, n, points, delays)

	users := []string{"kim@acme.test", "leo@acme.test"}
	s := startServer(t, "")
	for _, u := range users {
		s.addUser(u)
	}
	start := time.Now()

	var (
		mu       sync.Mutex
		cond     = sync.NewCond(&mu)
		addr     = s.smtpAddr()
		acked    = map[int]int{} // id -> attempt that got the 250
		attempts = map[int]int{} // id -> attempts made
		failures []string
		lost     int // sessions broken (by the kills)
	)
	rcptOf := func(id int) string { return users[id%len(users)] }
	const senders = 4
	var wg sync.WaitGroup
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *smtp.Client
			drop := func() {
				if c != nil {
					c.Close()
					c = nil
				}
			}
			defer drop()
			for id := w; id < n; id += senders {
				for {
					mu.Lock()
					a := addr
					attempts[id]++
					attempt := attempts[id]
					mu.Unlock()
					if attempt > 200 {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("message %d: gave up after %d attempts", id, attempt-1))
						mu.Unlock()
						break
					}
					if c == nil {
						conn, err := net.DialTimeout("tcp", a, 2*time.Second)
						if err != nil {
							time.Sleep(10 * time.Millisecond) // maild is restarting
							continue
						}
						c = smtp.NewClient(conn)
						c.CommandTimeout, c.SubmissionTimeout = 10*time.Second, 10*time.Second
						if err := c.Hello("crashloop.remote.test"); err != nil {
							drop()
							continue
						}
					}
					err := c.SendMail("load@remote.test", []string{rcptOf(id)}, strings.NewReader(crashLoopMessage(id, attempt)))
					if err == nil {
						mu.Lock()
						acked[id] = attempt
						cond.Broadcast()
						mu.Unlock()
						break
					}
					var se *smtp.SMTPError
					if errors.As(err, &se) && se.Code >= 500 {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("message %d attempt %d: permanent refusal %v", id, attempt, err))
						mu.Unlock()
						break
					}
					// A 4xx or a broken session: no 250, so send again
					// (on a new session: the old one may be mid-DATA).
					mu.Lock()
					lost++
					mu.Unlock()
					drop()
				}
			}
			if c != nil {
				c.Quit()
			}
		}()
	}
	sendersDone := make(chan struct{})
	go func() { wg.Wait(); close(sendersDone); mu.Lock(); cond.Broadcast(); mu.Unlock() }()

	// The killer runs here, on the test goroutine (start may t.Fatal).
	for i, p := range points {
		mu.Lock()
		for len(acked) < p && !isClosed(sendersDone) {
			cond.Wait()
		}
		got := len(acked)
		mu.Unlock()
		if isClosed(sendersDone) {
			t.Logf("kill %d skipped: the senders finished before %d acknowledgements", i+1, p)
			continue
		}
		time.Sleep(delays[i])
		s.kill()
		killedAt := time.Since(start)
		s.start()
		mu.Lock()
		addr = s.smtpAddr()
		mu.Unlock()
		t.Logf("kill %d at %v after %d acknowledgements; restarted in %v", i+1, killedAt.Round(time.Millisecond), got, (time.Since(start) - killedAt).Round(time.Millisecond))
	}
	<-sendersDone
	acceptedIn := time.Since(start)
	for _, f := range failures {
		t.Error(f)
	}
	totalAttempts := 0
	for _, a := range attempts {
		totalAttempts += a
	}
	t.Logf("%d of %d messages acknowledged in %v (%d sendings, %d broken sessions or 4xx)", len(acked), n, acceptedIn.Round(time.Millisecond), totalAttempts, lost)

	// Every acknowledged message reaches its Maildir: wait for it on the
	// log lines of the last maild (each delivery logs one).
	missing := func() []int {
		have := map[int]bool{}
		for _, u := range users {
			for _, m := range s.maildirMessages(u) {
				if m.id >= 0 && rcptOf(m.id) == u {
					have[m.id] = true
				}
			}
		}
		var out []int
		for id := range acked {
			if !have[id] {
				out = append(out, id)
			}
		}
		sort.Ints(out)
		return out
	}
	waitTimeout := 60 * time.Second
	func() {
		deadline := time.Now().Add(waitTimeout)
		for {
			if len(missing()) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %v, %d acknowledged messages are in no Maildir (lost?): %v", waitTimeout, len(missing()), missing())
			}
			// Re-check on every log line, or every 200 ms if maild
			// is quiet (a delivery always logs, but be safe).
			waitLogOrTimeout(s.logs, 200*time.Millisecond)
		}
	}()
	// And the queue empties (the records of the deliveries are written
	// just after the files, so poll the live queue for a moment).
	s.waitQueueEmpty(30 * time.Second)
	t.Logf("all acknowledged messages delivered and the queue empty %v after the start", time.Since(start).Round(time.Millisecond))

	// Exactly once: count the copies of each message per mailbox.
	copies := map[int][]storedMessage{}
	fileCount := map[string]int{}
	for _, u := range users {
		msgs := s.maildirMessages(u)
		fileCount[u] = len(msgs)
		for _, m := range msgs {
			switch {
			case m.id < 0:
				t.Errorf("%s: %s is not a message of this test (or is half-written)", u, m.name)
			case rcptOf(m.id) != u:
				t.Errorf("%s: %s holds message %d, which was for %s", u, m.name, m.id, rcptOf(m.id))
			case !m.whole:
				t.Errorf("%s: %s (message %d) is truncated: a half-written file is visible", u, m.name, m.id)
			default:
				copies[m.id] = append(copies[m.id], m)
			}
		}
	}
	var serverDups, resendDups, unackedStored int
	for id, cs := range copies {
		if _, ok := acked[id]; !ok {
			unackedStored++ // delivered although its 250 was lost: allowed
		}
		if len(cs) < 2 {
			continue
		}
		seen := map[int]int{}
		for _, c := range cs {
			seen[c.attempt]++
		}
		for att, k := range seen {
			if k > 1 {
				serverDups += k - 1
				t.Logf("duplicate: message %d attempt %d is stored %d times (a kill between the Maildir rename and the queue record, redelivered after restart): %v", id, att, k, cs)
			}
		}
		if len(seen) > 1 {
			resendDups += len(seen) - 1
			t.Logf("duplicate: message %d is stored from %d sendings (a kill after the queue commit but before the 250 reached the client, which sent again): %v", id, len(seen), cs)
		}
	}
	t.Logf("%d messages stored, %d of them never acknowledged; %d duplicate deliveries of one sending, %d from client resends; files kim=%d leo=%d",
		len(copies), unackedStored, serverDups, resendDups, fileCount[users[0]], fileCount[users[1]])

	// Leftovers of the kills in tmp/ (Maildir and spool) are allowed,
	// but must not be visible as messages.
	for _, u := range users {
		tmps, _ := os.ReadDir(filepath.Join(s.maildir(u), "tmp"))
		if len(tmps) > 0 {
			t.Logf("%s: %d files left in tmp/ by the kills", u, len(tmps))
		}
		for _, f := range tmps {
			for _, m := range s.maildirList(u, "") {
				if strings.HasPrefix(filepath.Base(m), f.Name()) {
					t.Errorf("%s: tmp/%s is also in %s", u, f.Name(), m)
				}
			}
		}
	}

	// Over IMAP: as many messages as files, each one whole.
	for _, u := range users {
		c, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login(u, "secret-pw").Wait(); err != nil {
			t.Fatal(err)
		}
		sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if int(sel.NumMessages) != fileCount[u] {
			t.Errorf("%s: IMAP SELECT shows %d messages, the Maildir holds %d", u, sel.NumMessages, fileCount[u])
		}
		if sel.NumMessages == 0 {
			continue
		}
		var all imap.SeqSet
		all.AddRange(1, 0)
		fetched, err := c.Fetch(all, &imap.FetchOptions{UID: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			t.Fatalf("%s: FETCH 1:* BODY.PEEK[]: %v", u, err)
		}
		ids := map[int]int{}
		for _, m := range fetched {
			if len(m.BodySection) != 1 {
				t.Errorf("%s: UID %d: no body", u, m.UID)
				continue
			}
			b := m.BodySection[0].Bytes
			sm, em := crashMsgRe.FindSubmatch(b), crashEndRe.FindSubmatch(b)
			if sm == nil || em == nil || string(sm[1]) != string(em[1]) || int64(len(b)) != m.RFC822Size {
				t.Errorf("%s: UID %d: body of %d bytes (RFC822.SIZE %d) is not a whole test message", u, m.UID, len(b), m.RFC822Size)
				continue
			}
			id, _ := strconv.Atoi(string(sm[1]))
			ids[id]++
		}
		if len(fetched) != fileCount[u] {
			t.Errorf("%s: FETCH returned %d messages, want %d", u, len(fetched), fileCount[u])
		}
		for id := range acked {
			if rcptOf(id) == u && ids[id] == 0 {
				t.Errorf("%s: acknowledged message %d not fetched over IMAP", u, id)
			}
		}
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// waitLogOrTimeout returns when l gets a new line or after d.
func waitLogOrTimeout(l *logSink, d time.Duration) {
	timer := time.AfterFunc(d, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(d)
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := len(l.entries)
	for len(l.entries) == seen && !l.closed && time.Now().Before(deadline) {
		l.cond.Wait()
	}
}

// waitQueueEmpty polls the live queue (mailctl queue list --json) on each
// log line, at least every 100 ms, until it is empty.
func (s *server) waitQueueEmpty(timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, errOut, err := s.mailctl("", "queue", "list", "--json")
		var entries []json.RawMessage
		if err == nil {
			err = json.Unmarshal([]byte(out), &entries)
		}
		if err == nil && len(entries) == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("queue not empty after %v: %v\n%s%s", timeout, err, out, errOut)
		}
		waitLogOrTimeout(s.logs, 100*time.Millisecond)
	}
}
