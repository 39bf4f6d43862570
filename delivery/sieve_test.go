package delivery

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/foxcpp/go-sieve/interp"

	"yubin/storage"
)

// recEnqueuer records what the MDA queues.
type recEnqueuer struct {
	mu   sync.Mutex
	envs []Envelope
	msgs []string
}

func (r *recEnqueuer) Enqueue(_ context.Context, env Envelope, msg io.Reader) (ID, error) {
	b, err := io.ReadAll(msg)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.envs = append(r.envs, env)
	r.msgs = append(r.msgs, string(b))
	return NewID(), nil
}

func (r *recEnqueuer) sent() ([]Envelope, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.envs), slices.Clone(r.msgs)
}

type mdaFixture struct {
	st  *storage.Store
	q   *Queue
	out *recEnqueuer
	ch  chan ID
}

func newMDAFixture(t *testing.T, users ...string) *mdaFixture {
	t.Helper()
	st := testStore(t, users...)
	mda := NewMDA(StoreDirectory{st}, nil)
	out := &recEnqueuer{}
	mda.SetOutbound(out)
	settled, ch := settledChan()
	q, err := Open(Options{Dir: t.TempDir(), Local: mda, Settled: settled})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return &mdaFixture{st: st, q: q, out: out, ch: ch}
}

func (f *mdaFixture) send(t *testing.T, from, to, msg string) {
	t.Helper()
	id, err := f.q.Enqueue(context.Background(), Envelope{From: from, To: []string{to}}, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	waitSettled(t, f.ch, id)
}

// messages lists the mailbox's messages (nil if it does not exist).
func messages(t *testing.T, st *storage.Store, user, mailbox string) []storage.Message {
	t.Helper()
	addr, _ := storage.ParseAddress(user)
	acct, err := st.Account(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := acct.Messages(context.Background(), mailbox)
	if err != nil {
		return nil
	}
	return msgs
}

func TestSieveActions(t *testing.T) {
	t.Parallel()
	const user = "alice@acme.test"
	f := newMDAFixture(t, user)
	ctx := context.Background()
	script := `require ["fileinto", "imap4flags", "envelope"];
if address :is "from" "boss@corp.test" { addflag "\\Flagged"; fileinto "Archive"; stop; }
if header :contains "subject" "[spam]" { discard; stop; }
if envelope :is "from" "fwd@corp.test" { redirect "elsewhere@remote.test"; }
if header :contains "subject" "read me" { setflag "\\Seen"; keep; }
if header :is "x-test" "missing-folder" { fileinto "NoSuchFolder"; }
`
	if err := f.st.SetSieve(ctx, user, script); err != nil {
		t.Fatal(err)
	}
	// fileinto + addflag + stop.
	f.send(t, "boss@corp.test", user, "From: Boss <boss@corp.test>\r\nTo: alice@acme.test\r\nSubject: hi\r\n\r\nbody\r\n")
	if got := messages(t, f.st, user, "Archive"); len(got) != 1 || !slices.Contains(got[0].Flags, storage.FlagFlagged) {
		t.Fatalf("Archive = %+v, want one flagged message", got)
	}
	if got := messages(t, f.st, user, "INBOX"); len(got) != 0 {
		t.Fatalf("INBOX after fileinto = %d messages", len(got))
	}
	// discard.
	f.send(t, "x@corp.test", user, "From: x@corp.test\r\nSubject: [spam] buy\r\n\r\nbody\r\n")
	if got := messages(t, f.st, user, "INBOX"); len(got) != 0 {
		t.Fatalf("INBOX after discard = %d messages", len(got))
	}
	// redirect with the original sender (no keep).
	f.send(t, "fwd@corp.test", user, "From: fwd@corp.test\r\nSubject: pass on\r\n\r\nbody\r\n")
	envs, msgs := f.out.sent()
	if len(envs) != 1 || envs[0].From != "fwd@corp.test" || !slices.Equal(envs[0].To, []string{"elsewhere@remote.test"}) ||
		!strings.HasPrefix(msgs[0], "Delivered-To: alice@acme.test\r\n") || !strings.Contains(msgs[0], "Subject: pass on") {
		t.Fatalf("redirect = %+v %q", envs, msgs)
	}
	if got := messages(t, f.st, user, "INBOX"); len(got) != 0 {
		t.Fatalf("INBOX after redirect = %d messages", len(got))
	}
	// keep with setflag.
	f.send(t, "y@corp.test", user, "From: y@corp.test\r\nSubject: please read me\r\n\r\nbody\r\n")
	if got := messages(t, f.st, user, "INBOX"); len(got) != 1 || !slices.Equal(got[0].Flags, []string{storage.FlagSeen}) {
		t.Fatalf("INBOX after setflag = %+v", got)
	}
	// fileinto a missing folder: INBOX.
	f.send(t, "z@corp.test", user, "From: z@corp.test\r\nX-Test: missing-folder\r\nSubject: q\r\n\r\nbody\r\n")
	if got := messages(t, f.st, user, "INBOX"); len(got) != 2 {
		t.Fatalf("INBOX after missing folder = %d messages, want 2", len(got))
	}
	// no match: implicit keep.
	f.send(t, "w@corp.test", user, "From: w@corp.test\r\nSubject: plain\r\n\r\nbody\r\n")
	if got := messages(t, f.st, user, "INBOX"); len(got) != 3 {
		t.Fatalf("INBOX after implicit keep = %d messages, want 3", len(got))
	}
}

func TestSieveJunkKeepAndSize(t *testing.T) {
	t.Parallel()
	const user = "alice@acme.test"
	f := newMDAFixture(t, user)
	if err := f.st.SetSieve(context.Background(), user, `require "imap4flags"; if size :over 1K { addflag "big"; }`); err != nil {
		t.Fatal(err)
	}
	// Keep of a junk-marked message goes to Junk, without the mark.
	f.send(t, "a@corp.test", user, JunkHeader+": yes\r\nSubject: s\r\n\r\n"+strings.Repeat("x", 2000)+"\r\n")
	got := messages(t, f.st, user, JunkMailbox)
	if len(got) != 1 || !slices.Contains(got[0].Flags, "big") {
		t.Fatalf("Junk = %+v", got)
	}
}

func TestRunSieveErrorKeeps(t *testing.T) {
	out, err := runSieve(context.Background(), "if {", interp.EnvelopeStatic{}, msgHeader{})
	if err == nil || !out.Keep {
		t.Fatalf("broken script: %+v, %v", out, err)
	}
	out, err = runSieve(context.Background(), `require "imap4flags"; addflag ["\\Bogus", "ok", "\\seen"];`, interp.EnvelopeStatic{}, msgHeader{})
	if err != nil || !out.Keep || !slices.Equal(out.Flags, []string{"ok", storage.FlagSeen}) && !slices.Equal(out.Flags, []string{storage.FlagSeen, "ok"}) {
		t.Fatalf("flags: %+v, %v", out, err)
	}
}

func FuzzSieve(f *testing.F) {
	f.Add(`require ["fileinto","imap4flags"]; if address :is "from" "a@b" { fileinto "X"; addflag "\\Seen"; stop; }`)
	f.Add(`require "variables"; if header :matches "subject" "*x*" { set "v" "${1}"; }`)
	f.Add(`require ["relational","comparator-i;ascii-numeric"]; if header :value "gt" :comparator "i;ascii-numeric" "x" "5" { discard; }`)
	f.Add(`redirect "a@b.test"; keep;`)
	f.Add("if {")
	h := readHeader(strings.NewReader("From: a@b.test\r\nTo: c@d.test\r\nSubject: =?utf-8?q?hi?=\r\n\r\n"), 100)
	f.Fuzz(func(t *testing.T, script string) {
		ctx := context.Background()
		s, err := storage.ParseSieve(script)
		if err != nil {
			return
		}
		_ = s
		out, _ := runSieve(ctx, script, interp.EnvelopeStatic{From: "a@b.test", To: "c@d.test"}, h)
		for _, fl := range out.Flags {
			if canonFlag(fl) != fl {
				t.Fatalf("non-canonical flag %q", fl)
			}
		}
	})
}

// TestSieveInvalidFolderToInbox: a fileinto target storage cannot hold
// (here built at run time, which save-time checks cannot see) files the
// message into INBOX instead of deferring it until it bounces.
func TestSieveInvalidFolderToInbox(t *testing.T) {
	t.Parallel()
	const user = "alice@acme.test"
	f := newMDAFixture(t, user)
	script := `require ["fileinto", "variables"]; set "y" "2024"; fileinto "Projects.${y}";`
	if err := f.st.SetSieve(context.Background(), user, script); err != nil {
		t.Fatal(err)
	}
	f.send(t, "a@corp.test", user, "From: a@corp.test\r\nSubject: q\r\n\r\nbody\r\n")
	if got := messages(t, f.st, user, "INBOX"); len(got) != 1 {
		t.Fatalf("INBOX = %d messages, want 1", len(got))
	}
}
