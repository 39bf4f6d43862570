package imapd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"yubin/storage"
)

const (
	testUser     = "user@imapd.test"
	testPassword = "imapd-test-pw"
)

// testServer is a Server over a real Store, serving plain IMAP on a
// loopback port (loopback logins are allowed).
type testServer struct {
	dir  string
	st   *storage.Store
	srv  *Server
	ln   net.Listener
	done chan error
	acct *storage.Account
	logs *logRecorder // the server's log
}

// openTestStore opens a store in dir holding testUser, and its account.
func openTestStore(dir string) (*storage.Store, *storage.Account, error) {
	ctx := context.Background()
	st, err := storage.Open(dir, storage.Options{})
	if err != nil {
		return nil, nil, err
	}
	if _, err := st.AddDomain(ctx, "imapd.test"); err != nil {
		st.Close()
		return nil, nil, err
	}
	if _, err := st.AddUser(ctx, testUser, testPassword, 0); err != nil {
		st.Close()
		return nil, nil, err
	}
	addr, err := storage.ParseAddress(testUser)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	acct, err := st.Account(ctx, addr)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, acct, nil
}

// serve starts an imapd.Server over st. The caller closes the result.
func serve(dir string, st *storage.Store, acct *storage.Account) (*testServer, error) {
	logs := newLogRecorder()
	srv, err := New(Options{
		Auth:                storage.NewLoginGuard(st, storage.LoginOptions{}),
		Accounts:            st,
		PlaintextOnLoopback: true,
		Logger:              slog.New(logs),
	})
	if err != nil {
		return nil, err
	}
	st.SetObserver(srv.Observe)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ts := &testServer{dir: dir, st: st, srv: srv, ln: ln, done: make(chan error, 1), acct: acct, logs: logs}
	go func() { ts.done <- srv.Serve(ln) }()
	return ts, nil
}

func (ts *testServer) close() error {
	err := ts.srv.Close()
	if serr := <-ts.done; err == nil {
		err = serr
	}
	if cerr := ts.st.Close(); err == nil {
		err = cerr
	}
	return err
}

// startTestServer is a fresh server in a test's temporary directory.
func startTestServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	st, acct, err := openTestStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := serve(dir, st, acct)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ts.close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return ts
}

// login dials the server and logs in as testUser.
func (ts *testServer) login(tb testing.TB, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	tb.Helper()
	c, err := imapclient.DialInsecure(ts.ln.Addr().String(), &imapclient.Options{UnilateralDataHandler: h})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	if err := c.Login(testUser, testPassword).Wait(); err != nil {
		tb.Fatal(err)
	}
	return c
}

func (ts *testServer) deliver(t *testing.T, mailbox string, n int) []uint32 {
	t.Helper()
	var uids []uint32
	for i := range n {
		msg := fmt.Sprintf("From: a@example.net\r\nSubject: message %d\r\n\r\nbody %d\r\n", i+1, i+1)
		m, err := ts.acct.Deliver(context.Background(), mailbox, strings.NewReader(msg), storage.DeliverOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, m.UID)
	}
	return uids
}

// events records the unilateral responses a client receives. imapclient
// calls the FETCH handler on its own goroutine, so a test waits for the
// events it expects rather than assuming they are in by the tagged OK.
type events struct {
	mu  sync.Mutex
	log []string
	ch  chan struct{}
}

func newEvents() *events { return &events{ch: make(chan struct{}, 100)} }

func (e *events) add(s string) {
	e.mu.Lock()
	e.log = append(e.log, s)
	e.mu.Unlock()
	e.ch <- struct{}{}
}

// wait returns the events received so far once there are n of them, or
// after a timeout. It does not wait for more: an unexpected extra event
// stays in the log and fails the next wait's or take's comparison.
func (e *events) wait(n int) []string {
	deadline := time.After(5 * time.Second)
	for {
		e.mu.Lock()
		have := len(e.log)
		e.mu.Unlock()
		if have >= n {
			break
		}
		select {
		case <-e.ch:
		case <-deadline:
			return e.take()
		}
	}
	return e.take()
}

func (e *events) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.log
	e.log = nil
	for len(e.ch) > 0 {
		<-e.ch
	}
	return out
}

func (e *events) handler() *imapclient.UnilateralDataHandler {
	return &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) { e.add(fmt.Sprintf("expunge %d", seq)) },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				e.add(fmt.Sprintf("exists %d", *d.NumMessages))
			}
		},
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, err := msg.Collect()
			if err != nil {
				e.add("fetch error " + err.Error())
				return
			}
			e.add(fmt.Sprintf("fetch %d uid %d %v", buf.SeqNum, buf.UID, buf.Flags))
		},
	}
}

// twoSessions delivers n messages and selects INBOX in two sessions.
func twoSessions(t *testing.T, n int) (ts *testServer, uids []uint32, a, b *imapclient.Client, evA, evB *events) {
	ts = startTestServer(t)
	uids = ts.deliver(t, "INBOX", n)
	evA, evB = newEvents(), newEvents()
	a = ts.login(t, evA.handler())
	b = ts.login(t, evB.handler())
	for _, c := range []*imapclient.Client{a, b} {
		d, err := c.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if d.NumMessages != uint32(n) {
			t.Fatalf("SELECT: %d messages, want %d", d.NumMessages, n)
		}
	}
	return ts, uids, a, b, evA, evB
}

// expungeFirst has a flag and expunge message 1.
func expungeFirst(t *testing.T, a *imapclient.Client) {
	t.Helper()
	if err := a.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	exp, err := a.Expunge().Collect()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(exp, []uint32{1}) {
		t.Errorf("A's EXPUNGE = %v, want [1]", exp)
	}
}

// seqUIDs formats FETCH results as "seq:uid", leaving out the unsolicited
// FETCH FLAGS for message skip (imapclient folds it into the command's
// results).
func seqUIDs(msgs []*imapclient.FetchMessageBuffer, skip uint32) []string {
	var out []string
	for _, m := range msgs {
		if m.SeqNum == skip && m.UID == 0 {
			continue
		}
		if m.SeqNum == skip && slices.Contains(m.Flags, imap.FlagDeleted) {
			continue
		}
		out = append(out, fmt.Sprintf("%d:%d", m.SeqNum, m.UID))
	}
	return out
}

// TestTwoSessions: A's flag change reaches B as an unsolicited FETCH; A's
// expunge reaches B only at a command that allows EXPUNGE (NOOP), and B's
// sequence numbers stay consistent before and after.
func TestTwoSessions(t *testing.T) {
	ts, uids, a, b, evA, evB := twoSessions(t, 3)

	// A flags message 2; A gets the STORE reply, B the update at its
	// next command.
	res, err := a.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].SeqNum != 2 || !slices.Contains(res[0].Flags, imap.FlagFlagged) {
		t.Errorf("STORE reply = %+v", res)
	}
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if got, want := evB.wait(1), []string{fmt.Sprintf("fetch 2 uid %d [\\Flagged]", uids[1])}; !slices.Equal(got, want) {
		t.Errorf("B after NOOP: %q, want %q", got, want)
	}
	if got := evA.take(); len(got) != 0 {
		t.Errorf("A was told about its own STORE: %q", got)
	}

	expungeFirst(t, a)

	// B's FETCH must not carry the EXPUNGE (RFC 3501 §7.4.1; UID FETCH
	// may): B still numbers the messages 1..3; message 1 is gone, 2 and
	// 3 keep their numbers. ("1:*" is TestSeqStarWithPendingExpunge.)
	msgs, err := b.Fetch(imap.SeqSet{{Start: 1, Stop: 3}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := seqUIDs(msgs, 1), []string{fmt.Sprintf("2:%d", uids[1]), fmt.Sprintf("3:%d", uids[2])}; !slices.Equal(got, want) {
		t.Errorf("B's FETCH 1:3 before NOOP = %q, want %q", got, want)
	}
	// SEARCH numbers are B's too.
	sd, err := b.Search(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if seqs := sd.AllSeqNums(); !slices.Equal(seqs, []uint32{2}) {
		t.Errorf("B's SEARCH FLAGGED before NOOP = %v, want [2]", seqs)
	}
	msgs, err = b.Fetch(imap.SeqSetNum(3), &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].UID != imap.UID(uids[2]) {
		t.Errorf("B's FETCH 3 before NOOP = %v, %v; want UID %d", msgs, err, uids[2])
	}
	if ev := evB.wait(0); slices.ContainsFunc(ev, func(s string) bool { return strings.HasPrefix(s, "expunge") }) {
		t.Errorf("B got EXPUNGE before NOOP: %q", ev)
	}

	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if got, want := evB.wait(1), []string{"expunge 1"}; !slices.Equal(got, want) {
		t.Errorf("B after NOOP: %q, want %q", got, want)
	}
	if n := b.Mailbox().NumMessages; n != 2 {
		t.Errorf("B's client counts %d messages, want 2", n)
	}
	msgs, err = b.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, fmt.Sprintf("%d:%d %v", m.SeqNum, m.UID, m.Flags))
	}
	if want := []string{fmt.Sprintf("1:%d [\\Flagged]", uids[1]), fmt.Sprintf("2:%d []", uids[2])}; !slices.Equal(got, want) {
		t.Errorf("B's FETCH 1:* after NOOP = %q, want %q", got, want)
	}

	// A new delivery reaches both as EXISTS 3.
	more := ts.deliver(t, "INBOX", 1)
	for name, c := range map[string]*imapclient.Client{"A": a, "B": b} {
		if err := c.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		if n := c.Mailbox().NumMessages; n != 3 {
			t.Errorf("%s counts %d messages after delivery, want 3", name, n)
		}
	}
	if got := evB.wait(1); !slices.Equal(got, []string{"exists 3"}) {
		t.Errorf("B after delivery: %q", got)
	}
	msgs, err = b.Fetch(imap.SeqSetNum(3), &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 1 || uint32(msgs[0].UID) != more[0] {
		t.Errorf("B's FETCH 3 = %v, %v; want UID %d", msgs, err, more[0])
	}
}

// TestSeqStarWithPendingExpunge: "*" in a sequence set is the highest
// number in the client's view. While an EXPUNGE is pending for B, B
// still has 3 messages, so FETCH 1:* must return its messages 2 and 3.
func TestSeqStarWithPendingExpunge(t *testing.T) {
	_, uids, a, b, _, _ := twoSessions(t, 3)
	expungeFirst(t, a)
	msgs, err := b.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := seqUIDs(msgs, 1), []string{fmt.Sprintf("2:%d", uids[1]), fmt.Sprintf("3:%d", uids[2])}; !slices.Equal(got, want) {
		t.Errorf("B's FETCH 1:* with an EXPUNGE pending = %q, want %q", got, want)
	}
	sd, err := b.Search(&imap.SearchCriteria{SeqNum: []imap.SeqSet{{{Start: 2, Stop: 0}}}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := sd.AllSeqNums(); !slices.Equal(got, []uint32{2, 3}) {
		t.Errorf("B's SEARCH 2:* with an EXPUNGE pending = %v, want [2 3]", got)
	}
}

// TestMessageRange covers storage.Account.MessageRange, which FETCH and
// SEARCH use to read only the index rows a command names.
func TestMessageRange(t *testing.T) {
	ts := startTestServer(t)
	uids := ts.deliver(t, "INBOX", 5)
	ctx := context.Background()
	for _, tc := range []struct {
		first, last uint32
		want        []uint32
	}{
		{uids[1], uids[3], uids[1:4]},
		{1, 1 << 31, uids},
		{uids[4] + 1, uids[4] + 10, nil},
		{0, 0, nil},
	} {
		msgs, err := ts.acct.MessageRange(ctx, "INBOX", tc.first, tc.last)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint32
		for _, m := range msgs {
			got = append(got, m.UID)
			if m.Path == "" || m.Size == 0 {
				t.Errorf("message %d: %+v", m.UID, m)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("MessageRange(%d, %d) = %v, want %v", tc.first, tc.last, got, tc.want)
		}
	}
	if _, err := ts.acct.MessageRange(ctx, "Nonexistent", 1, 10); err == nil {
		t.Error("MessageRange of a missing mailbox succeeded")
	}
}

// TestReselectAfterRecreate: a session that unselected a mailbox keeps it
// loaded (parked); when another session deletes and re-creates the
// mailbox meanwhile, selecting it again shows the new one (new
// UIDVALIDITY, its messages), not the parked state.
func TestReselectAfterRecreate(t *testing.T) {
	ts := startTestServer(t)
	a, b := ts.login(t, nil), ts.login(t, nil)
	if err := a.Create("Box", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	first, err := a.Select("Box", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete("Box").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := b.Create("Box", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msg := "Subject: new\r\n\r\nbody\r\n"
	ac := b.Append("Box", int64(len(msg)), nil)
	ac.Write([]byte(msg))
	ac.Close()
	if _, err := ac.Wait(); err != nil {
		t.Fatal(err)
	}
	again, err := a.Select("Box", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if again.UIDValidity == first.UIDValidity || again.NumMessages != 1 {
		t.Errorf("after re-create: UIDVALIDITY %d (was %d), %d messages; want a new UIDVALIDITY and 1 message",
			again.UIDValidity, first.UIDValidity, again.NumMessages)
	}
}

// TestHeaderCacheAgrees: SEARCH on envelope fields answers the same
// before the header cache is filled (files read), after FETCH ENVELOPE
// filled it, and for fields outside it; the first of two Subject fields
// is the one the envelope shows.
func TestHeaderCacheAgrees(t *testing.T) {
	ts := startTestServer(t)
	for _, m := range []string{
		"From: Ann <ann@example.net>\r\nSubject: alpha report\r\nX-Tag: red\r\n\r\nbody\r\n",
		"From: Bob <bob@example.net>\r\nSubject: beta\r\nSubject: second alpha\r\nX-Tag: blue\r\n\r\nbody\r\n",
		"From: Cy <cy@example.net>\r\nSubject: gamma\r\nCc: ann@example.net\r\n\r\nbody\r\n",
	} {
		if _, err := ts.acct.Deliver(context.Background(), "INBOX", strings.NewReader(m), storage.DeliverOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c := ts.login(t, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	search := func(key, value string) []uint32 {
		t.Helper()
		d, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: key, Value: value}}}, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		var out []uint32
		for _, u := range d.AllUIDs() {
			out = append(out, uint32(u))
		}
		return out
	}
	cases := []struct {
		key, value string
		want       []uint32
	}{
		{"Subject", "alpha", []uint32{1, 2}},
		{"From", "bob", []uint32{2}},
		{"Cc", "ann", []uint32{3}},
		{"X-Tag", "blue", []uint32{2}},
	}
	for round := range 2 {
		for _, tc := range cases {
			if got := search(tc.key, tc.value); !slices.Equal(got, tc.want) {
				t.Errorf("round %d: SEARCH HEADER %s %q = %v, want %v", round, tc.key, tc.value, got, tc.want)
			}
		}
		msgs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Envelope: true}).Collect()
		if err != nil || len(msgs) != 3 {
			t.Fatalf("FETCH ENVELOPE: %v %v", msgs, err)
		}
		if got := msgs[1].Envelope.Subject; got != "beta" {
			t.Errorf("round %d: envelope subject %q, want the first field, beta", round, got)
		}
	}
}

// TestReselectSeesOtherProcess: a mailbox kept loaded (parked after
// UNSELECT) takes in messages another process (mailctl import) wrote into
// the files and the index when it is asked for its STATUS or selected
// again.
func TestReselectSeesOtherProcess(t *testing.T) {
	ts := startTestServer(t)
	c := ts.login(t, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	other, err := storage.Open(ts.dir, storage.Options{}) // a second process's view
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := storage.ParseAddress(testUser)
	acct, err := other.Account(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acct.Deliver(context.Background(), "INBOX", strings.NewReader("Subject: imported\r\n\r\nx\r\n"), storage.DeliverOptions{}); err != nil {
		t.Fatal(err)
	}
	other.Close()
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil || *st.NumMessages != 1 {
		t.Errorf("STATUS after another process delivered: %+v %v, want 1 message", st, err)
	}
	d, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if d.NumMessages != 1 {
		t.Errorf("SELECT after another process delivered: %d messages, want 1", d.NumMessages)
	}
}
