package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestAccount returns a store with user u@example.com and its account.
func newTestAccount(t *testing.T, quota int64) (*Store, *Account) {
	t.Helper()
	s := newTestStore(t)
	mustDomain(t, s, "example.com")
	u := mustUser(t, s, "u@example.com", quota)
	a, err := s.Account(t.Context(), u.Address)
	if err != nil {
		t.Fatal(err)
	}
	return s, a
}

// openAccountIn opens the store in dir and the account of u@example.com,
// creating the domain and the user first when create is set (a store
// reopened over the same directory finds them). The caller closes the
// store.
func openAccountIn(t *testing.T, dir string, create bool) (*Store, *Account) {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if create {
		mustDomain(t, s, "example.com")
		mustUser(t, s, "u@example.com", 0)
	}
	addr, _ := ParseAddress("u@example.com")
	a, err := s.Account(t.Context(), addr)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s, a
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestMaildirLayout(t *testing.T) {
	t.Parallel()
	s, a := newTestAccount(t, 0)
	if want := filepath.Join(s.MailRoot(), "example.com", "u"); a.Dir() != want {
		t.Errorf("Dir = %q, want %q", a.Dir(), want)
	}
	if a.Address().String() != "u@example.com" {
		t.Errorf("Address = %v", a.Address())
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if fi, err := os.Stat(filepath.Join(a.Dir(), sub)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", sub, err)
		}
	}
	for _, f := range []string{".Sent", ".Drafts", ".Trash", ".Junk", ".Archive"} {
		for _, sub := range []string{"cur", "new", "tmp"} {
			if fi, err := os.Stat(filepath.Join(a.Dir(), f, sub)); err != nil || !fi.IsDir() {
				t.Errorf("%s/%s: %v", f, sub, err)
			}
		}
		if fi, err := os.Stat(filepath.Join(a.Dir(), f, "maildirfolder")); err != nil || fi.Size() != 0 {
			t.Errorf("%s/maildirfolder: %v", f, err)
		}
	}
	boxes, err := a.Mailboxes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []MailboxInfo{{"INBOX", ""}, {"Archive", `\Archive`}, {"Drafts", `\Drafts`}, {"Junk", `\Junk`}, {"Sent", `\Sent`}, {"Trash", `\Trash`}}
	if !slices.Equal(boxes, want) {
		t.Errorf("Mailboxes = %v, want %v", boxes, want)
	}
	if _, err := s.Account(t.Context(), Address{Local: "nobody", Domain: "example.com"}); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("Account(unknown) = %v", err)
	}
}

func TestCreateMailbox(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, a := newTestAccount(t, 0)
	if err := a.CreateMailbox(ctx, "Projects/2024"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(a.Dir(), ".Projects.2024", "maildirfolder")); err != nil {
		t.Error(err)
	}
	if err := a.CreateMailbox(ctx, "Projects/2024"); !errors.Is(err, ErrExists) {
		t.Errorf("second CreateMailbox = %v", err)
	}
	if err := a.CreateMailbox(ctx, "inbox"); !errors.Is(err, ErrExists) {
		t.Errorf("CreateMailbox(inbox) = %v", err)
	}
	for _, bad := range []string{"", "/a", "a/", "a//b", ".a", "a..b", "a.b", "../x", "a\x01b", "a*", strings.Repeat("x", 300)} {
		if err := a.CreateMailbox(ctx, bad); err == nil {
			t.Errorf("CreateMailbox(%q) succeeded", bad)
		}
	}
	if err := a.CreateMailbox(ctx, "Über"); err != nil {
		t.Error(err)
	}
	boxes, _ := a.Mailboxes(ctx)
	var names []string
	for _, b := range boxes {
		names = append(names, b.Name)
	}
	if !slices.Contains(names, "Projects/2024") || !slices.Contains(names, "Über") {
		t.Errorf("Mailboxes = %v", names)
	}
	st, err := a.Status(ctx, "Projects/2024")
	if err != nil || st.UIDValidity == 0 || st.UIDNext != 1 || st.Messages != 0 {
		t.Errorf("Status = %+v, %v", st, err)
	}
	if _, err := a.Status(ctx, "Missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Status(missing) = %v", err)
	}
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, a := newTestAccount(t, 0)
	body := []byte("From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n")
	var uids []uint32
	for i := range 3 {
		m, err := a.Deliver(ctx, "INBOX", bytes.NewReader(body), DeliverOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, m.UID)
		if m.Size != int64(len(body)) {
			t.Errorf("Size = %d", m.Size)
		}
		wantSuffix := fmt.Sprintf(",S=%d", len(body))
		if filepath.Base(filepath.Dir(m.Path)) != "new" || !strings.HasSuffix(m.Path, wantSuffix) || m.Key != filepath.Base(m.Path) {
			t.Errorf("message %d: Path %q Key %q", i, m.Path, m.Key)
		}
		got, err := os.ReadFile(m.Path)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("content differs: %q %v", got, err)
		}
		fi, _ := os.Stat(m.Path)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v", fi.Mode())
		}
	}
	if !slices.IsSorted(uids) || uids[0] != 1 || uids[2] != 3 {
		t.Errorf("UIDs = %v", uids)
	}
	if tmp := dirNames(t, filepath.Join(a.Dir(), "tmp")); len(tmp) != 0 {
		t.Errorf("tmp/ not empty: %v", tmp)
	}
	msgs, err := a.Messages(ctx, "INBOX")
	if err != nil || len(msgs) != 3 || msgs[0].UID != 1 {
		t.Fatalf("Messages = %+v, %v", msgs, err)
	}
	st, err := a.Status(ctx, "INBOX")
	if err != nil || st.Messages != 3 || st.Unseen != 3 || st.UIDNext != 4 || st.Size != 3*int64(len(body)) {
		t.Errorf("Status = %+v, %v", st, err)
	}
	if u, err := a.Usage(ctx); err != nil || u != 3*int64(len(body)) {
		t.Errorf("Usage = %d, %v", u, err)
	}

	f, m, err := a.Open(ctx, "INBOX", 2)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, body) || m.UID != 2 {
		t.Errorf("Open: %q %+v", got, m)
	}
	if _, _, err := a.Open(ctx, "INBOX", 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(99) = %v", err)
	}

	// Flags and a date at delivery.
	date := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	m, err = a.Deliver(ctx, "Sent", strings.NewReader("x"), DeliverOptions{Flags: []string{`\seen`, "$Label1", `\Recent`}, InternalDate: date})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(filepath.Dir(m.Path)) != "cur" || !strings.HasSuffix(m.Path, ",S=1:2,S") {
		t.Errorf("flagged delivery path %q", m.Path)
	}
	if !slices.Equal(m.Flags, []string{"$Label1", `\Seen`}) || !m.InternalDate.Equal(date) {
		t.Errorf("flagged delivery %+v", m)
	}
	if _, err := a.Deliver(ctx, "NoSuchBox", strings.NewReader("x"), DeliverOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Deliver to a missing mailbox = %v", err)
	}
}

// failingReader returns data and then an error.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection lost")
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestDeliverErrorLeavesNothing(t *testing.T) {
	t.Parallel()
	_, a := newTestAccount(t, 0)
	if _, err := a.Deliver(t.Context(), "INBOX", &failingReader{n: 100000}, DeliverOptions{}); err == nil {
		t.Fatal("Deliver of a failing reader succeeded")
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if n := dirNames(t, filepath.Join(a.Dir(), sub)); len(n) != 0 {
			t.Errorf("%s/ not empty: %v", sub, n)
		}
	}
}

func TestDeliverLarge(t *testing.T) {
	t.Parallel()
	_, a := newTestAccount(t, 0)
	body := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	m, err := a.Deliver(t.Context(), "INBOX", bytes.NewReader(body), DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(m.Path)
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("large message differs (%d bytes, %v)", len(got), err)
	}
}

func TestQuota(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, a := newTestAccount(t, 100)
	if _, err := a.Deliver(ctx, "INBOX", strings.NewReader(strings.Repeat("a", 60)), DeliverOptions{EnforceQuota: true}); err != nil {
		t.Fatal(err)
	}
	_, err := a.Deliver(ctx, "INBOX", strings.NewReader(strings.Repeat("b", 60)), DeliverOptions{EnforceQuota: true})
	if !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("over quota: %v", err)
	}
	if n := dirNames(t, filepath.Join(a.Dir(), "tmp")); len(n) != 0 {
		t.Errorf("tmp/ not empty: %v", n)
	}
	if n := dirNames(t, filepath.Join(a.Dir(), "new")); len(n) != 1 {
		t.Errorf("new/ = %v, want one file", n)
	}
	// Without enforcement (e.g. a user's own APPEND policy) it is stored.
	if _, err := a.Deliver(ctx, "INBOX", strings.NewReader("c"), DeliverOptions{}); err != nil {
		t.Fatal(err)
	}
	// The quota is read from the directory each time.
	if err := s.SetQuota(ctx, "u@example.com", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Deliver(ctx, "INBOX", strings.NewReader(strings.Repeat("b", 60)), DeliverOptions{EnforceQuota: true}); err != nil {
		t.Errorf("unlimited quota: %v", err)
	}
}

func TestConcurrentDeliver(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, a := newTestAccount(t, 0)
	const n = 20
	var wg sync.WaitGroup
	uids := make([]uint32, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			m, err := a.Deliver(ctx, "INBOX", strings.NewReader(fmt.Sprintf("message %d", i)), DeliverOptions{})
			uids[i], errs[i] = m.UID, err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(uids)
	if len(slices.Compact(slices.Clone(uids))) != n || uids[0] != 1 || uids[n-1] != n {
		t.Errorf("UIDs = %v", uids)
	}
	if names := dirNames(t, filepath.Join(a.Dir(), "new")); len(names) != n {
		t.Errorf("%d files in new/", len(names))
	}
}

func TestSetFlagsAndExpunge(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, a := newTestAccount(t, 0)
	m1, err := a.Deliver(ctx, "INBOX", strings.NewReader("one"), DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := a.Deliver(ctx, "INBOX", strings.NewReader("two"), DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	flags := []string{`\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft`, "$Forwarded", "work"}
	if err := a.SetFlags(ctx, "INBOX", m1.UID, flags); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(a.Dir(), "cur", m1.Key+":2,DFPRST")
	if _, err := os.Stat(want); err != nil {
		t.Errorf("flagged file: %v (cur/ = %v)", err, dirNames(t, filepath.Join(a.Dir(), "cur")))
	}
	msgs, _ := a.Messages(ctx, "INBOX")
	if msgs[0].Path != want || !slices.Equal(msgs[0].Flags, []string{"$Forwarded", `\Answered`, `\Deleted`, `\Draft`, `\Flagged`, `\Seen`, "work"}) {
		t.Errorf("after SetFlags: %+v", msgs[0])
	}
	if err := a.SetFlags(ctx, "INBOX", m1.UID, []string{"work"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(a.Dir(), "cur", m1.Key+":2,")); err != nil {
		t.Errorf("cleared flags: %v", err)
	}
	if err := a.SetFlags(ctx, "INBOX", m1.UID, []string{`\Bogus`}); err == nil {
		t.Error("SetFlags with an unknown system flag succeeded")
	}
	if err := a.SetFlags(ctx, "INBOX", 99, []string{`\Seen`}); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetFlags(99) = %v", err)
	}

	// Another tool renames the file behind our back: Open and SetFlags
	// still find it.
	cur := filepath.Join(a.Dir(), "cur", m1.Key+":2,")
	moved := filepath.Join(a.Dir(), "cur", m1.Key+":2,S")
	if err := os.Rename(cur, moved); err != nil {
		t.Fatal(err)
	}
	f, m, err := a.Open(ctx, "INBOX", m1.UID)
	if err != nil {
		t.Fatalf("Open after external rename: %v", err)
	}
	f.Close()
	if !slices.Equal(m.Flags, []string{`\Seen`, "work"}) {
		t.Errorf("flags after external rename = %v", m.Flags)
	}

	if err := a.Expunge(ctx, "INBOX", []uint32{m1.UID, 42}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(moved); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("expunged file still there: %v", err)
	}
	msgs, _ = a.Messages(ctx, "INBOX")
	if len(msgs) != 1 || msgs[0].UID != m2.UID {
		t.Errorf("after Expunge: %+v", msgs)
	}
	if _, _, err := a.Open(ctx, "INBOX", m1.UID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(expunged) = %v", err)
	}
	st, _ := a.Status(ctx, "INBOX")
	if st.Messages != 1 || st.UIDNext != 3 {
		t.Errorf("Status after Expunge = %+v", st)
	}
}

func TestRescan(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, a := newTestAccount(t, 0)
	m1, err := a.Deliver(ctx, "INBOX", strings.NewReader("delivered"), DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Files dropped in by hand (another MDA, a restore).
	if err := os.WriteFile(filepath.Join(a.Dir(), "new", "1700000000.M1P1.other"), []byte("by hand"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a.Dir(), "cur", "1700000001.M2P1.other,S=4:2,S"), []byte("seen"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := a.Rescan(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	msgs, err := a.Messages(ctx, "INBOX")
	if err != nil || len(msgs) != 3 {
		t.Fatalf("Messages = %+v, %v", msgs, err)
	}
	if msgs[0].UID != m1.UID || msgs[1].Key != "1700000000.M1P1.other" || msgs[2].Key != "1700000001.M2P1.other,S=4" {
		t.Errorf("order after rescan: %+v", msgs)
	}
	if msgs[1].Size != 7 || len(msgs[1].Flags) != 0 || msgs[1].InternalDate.Unix() != 1700000000 {
		t.Errorf("hand-made new/ file: %+v", msgs[1])
	}
	if msgs[2].Size != 4 || !slices.Equal(msgs[2].Flags, []string{`\Seen`}) {
		t.Errorf("hand-made cur/ file: %+v", msgs[2])
	}
	st, _ := a.Status(ctx, "INBOX")
	if st.Unseen != 2 || st.UIDNext != 4 {
		t.Errorf("Status = %+v", st)
	}
	// A vanished file is dropped.
	if err := os.Remove(msgs[1].Path); err != nil {
		t.Fatal(err)
	}
	if err := a.Rescan(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := a.Messages(ctx, "INBOX"); len(msgs) != 2 {
		t.Errorf("after removal: %+v", msgs)
	}
	if err := a.Rescan(ctx, "Nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Rescan(missing) = %v", err)
	}
}

func TestRescanOnFirstOpen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	s, a := openAccountIn(t, dir, true)
	if _, err := a.Deliver(ctx, "INBOX", strings.NewReader("one"), DeliverOptions{Flags: []string{"kw"}}); err != nil {
		t.Fatal(err)
	}
	st1, _ := a.Status(ctx, "INBOX")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash between rename and index insert leaves an unindexed file.
	if err := os.WriteFile(filepath.Join(a.Dir(), ".Junk", "new", "1700000000.M9P9.crash,S=5"), []byte("crash"), 0o640); err != nil {
		t.Fatal(err)
	}

	s2, a2 := openAccountIn(t, dir, false)
	defer s2.Close()
	if msgs, _ := a2.Messages(ctx, "Junk"); len(msgs) != 1 || msgs[0].UID != 1 {
		t.Errorf("Junk after reopen: %+v", msgs)
	}
	msgs, _ := a2.Messages(ctx, "INBOX")
	if st, _ := a2.Status(ctx, "INBOX"); st.UIDValidity != st1.UIDValidity || len(msgs) != 1 || !slices.Equal(msgs[0].Flags, []string{"kw"}) {
		t.Errorf("INBOX after reopen: %+v %+v (was %+v)", st, msgs, st1)
	}
}

func TestIndexRebuild(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	s, a := openAccountIn(t, dir, true)
	for i := range 3 {
		if _, err := a.Deliver(ctx, "INBOX", strings.NewReader(fmt.Sprint("msg ", i)), DeliverOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Deliver(ctx, "Sent", strings.NewReader("sent"), DeliverOptions{Flags: []string{`\Seen`}}); err != nil {
		t.Fatal(err)
	}
	before, _ := a.Status(ctx, "INBOX")

	// Deleted while the process runs: Rescan rebuilds it.
	if err := removeIndexFiles(filepath.Join(a.Dir(), indexFile)); err != nil {
		t.Fatal(err)
	}
	if err := a.Rescan(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	after, err := a.Status(ctx, "INBOX")
	if err != nil || after.Messages != 3 || after.UIDValidity == before.UIDValidity {
		t.Errorf("after rebuild: %+v (before %+v), %v", after, before, err)
	}
	if st, _ := a.Status(ctx, "Sent"); st.Messages != 1 || st.Unseen != 0 {
		t.Errorf("Sent after rebuild: %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Corrupt while nobody has it open: the next Account rebuilds it.
	idx := filepath.Join(a.Dir(), indexFile)
	if err := removeIndexFiles(idx); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(idx, bytes.Repeat([]byte("garbage!"), 1024), 0o640); err != nil {
		t.Fatal(err)
	}
	s2, a2 := openAccountIn(t, dir, false)
	defer s2.Close()
	st, err := a2.Status(ctx, "INBOX")
	if err != nil || st.Messages != 3 || st.UIDValidity <= after.UIDValidity {
		t.Errorf("after corrupt rebuild: %+v, %v", st, err)
	}
}

// TestStaleTmpRemovedOnOpen: files a dead delivery left in tmp/ are
// removed when the account is next opened, once they are older than the
// Maildir convention's 36 hours; younger ones (a delivery in progress in
// another process) stay.
func TestStaleTmpRemovedOnOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, a := openAccountIn(t, dir, true)
	s.Close()
	old := filepath.Join(a.Dir(), "tmp", "1700000000.M1P1.dead")
	young := filepath.Join(a.Dir(), ".Sent", "tmp", "1700000000.M2P1.live")
	staleSent := filepath.Join(a.Dir(), ".Sent", "tmp", "1700000000.M3P1.dead")
	for _, p := range []string{old, young, staleSent} {
		if err := os.WriteFile(p, []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-37 * time.Hour)
	os.Chtimes(old, long, long)
	os.Chtimes(staleSent, long, long)

	s2, _ := openAccountIn(t, dir, false)
	defer s2.Close()
	for p, want := range map[string]bool{old: false, staleSent: false, young: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists=%v, want %v", p, err == nil, want)
		}
	}
}

// TestDeliverLink: a file delivered by DeliverLink is the same inode as
// its source (nothing copied), indexed like any delivery.
func TestDeliverLink(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, a := newTestAccount(t, 0)
	src := filepath.Join(t.TempDir(), "spool")
	body := "Return-Path: <a@example.net>\r\nDelivered-To: u@example.com\r\nSubject: hi\r\n\r\nbody\r\n"
	if err := os.WriteFile(src, []byte(body), 0o640); err != nil {
		t.Fatal(err)
	}
	m, err := a.DeliverLink(ctx, "INBOX", src, DeliverOptions{Flags: []string{FlagSeen}})
	if err != nil {
		t.Fatal(err)
	}
	srcInfo, _ := os.Stat(src)
	dstInfo, err := os.Stat(m.Path)
	if err != nil || !os.SameFile(srcInfo, dstInfo) || m.Size != int64(len(body)) {
		t.Fatalf("delivered %+v: same file %v, err %v", m, err == nil && os.SameFile(srcInfo, dstInfo), err)
	}
	msgs, _ := a.Messages(ctx, "INBOX")
	if len(msgs) != 1 || msgs[0].UID != m.UID || !slices.Equal(msgs[0].Flags, []string{FlagSeen}) {
		t.Errorf("index: %+v", msgs)
	}
	if tmps, _ := os.ReadDir(filepath.Join(a.Dir(), "tmp")); len(tmps) != 0 {
		t.Errorf("tmp/ not empty: %v", tmps)
	}
	if _, err := a.DeliverLink(ctx, "INBOX", filepath.Join(t.TempDir(), "missing"), DeliverOptions{}); err == nil {
		t.Error("DeliverLink of a missing file succeeded")
	}
}

// TestOpenWritesNothing: opening an account whose index exists writes
// nothing to the index (no WAL frames), so a user can still log in when
// the disk is full.
func TestOpenWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	s, a := openAccountIn(t, dir, true)
	if _, err := a.Deliver(ctx, "INBOX", strings.NewReader("Subject: x\r\n\r\nx\r\n"), DeliverOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, a2 := openAccountIn(t, dir, false)
	defer s2.Close()
	if fi, err := os.Stat(filepath.Join(a2.Dir(), indexFile+"-wal")); err == nil && fi.Size() > 0 {
		t.Errorf("opening the account wrote %d bytes of WAL", fi.Size())
	}
}
