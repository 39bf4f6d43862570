package storage

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Account is one user's Maildir and its index. It is safe for concurrent
// use; Store.Account returns the same *Account for the same user for the
// life of the Store.
//
// Writers (Deliver's index update, SetFlags, Expunge, Rescan,
// CreateMailbox) are serialised by mu; readers only take idxMu shared.
// idxMu is exclusive only while the index is replaced by a rebuild. Lock
// order: mu before idxMu. Change notification (Watch, for IMAP IDLE) will
// hang off this type: every write path already goes through mu.
type Account struct {
	store   *Store
	addr    Address
	dir     string
	idxPath string

	mu    sync.Mutex   // serialises writes
	idxMu sync.RWMutex // guards idx (replaced on rebuild)
	idx   *sql.DB

	// stamps remembers, per mailbox, the new/ and cur/ modification
	// times the index is known to match (guarded by mu); Refresh rescans
	// only when they changed.
	stamps map[string]dirStamp

	dq deliverQueue // Deliver calls waiting for the committer

	// changeLogLimit overrides maxChangeLog (tests only).
	changeLogLimit uint64
}

// DeliverOptions tunes Deliver.
type DeliverOptions struct {
	// Flags to set on the new message (IMAP names; system flags go into
	// the Maildir info suffix, keywords into the index).
	Flags []string
	// InternalDate of the message; zero means now.
	InternalDate time.Time
	// EnforceQuota refuses the message with ErrQuotaExceeded if it would
	// take the user over quota.
	EnforceQuota bool
}

// Message describes one message in a mailbox.
type Message struct {
	UID uint32
	// Key is the Maildir unique name up to (not including) ":2,",
	// including ",S=<size>"; it does not change when flags change.
	Key          string
	Flags        []string // sorted IMAP flags
	InternalDate time.Time
	Size         int64
	Path         string // absolute path of the file when last seen
	// ModSeq is the MODSEQ of the message's last change (RFC 7162): its
	// arrival or its last flag change; 1 for messages indexed before
	// the change log existed.
	ModSeq uint64
}

// MailboxInfo names a mailbox and its RFC 6154 special use.
type MailboxInfo struct {
	Name       string // IMAP name, "/" separated; "INBOX" for the root
	SpecialUse string // `\Sent`, `\Drafts`, `\Trash`, `\Junk`, `\Archive` or ""
}

// Status summarises a mailbox.
type Status struct {
	UIDValidity uint32
	UIDNext     uint32
	Messages    int
	Unseen      int
	Size        int64
	// HighestModSeq is the MODSEQ of the mailbox's latest change.
	HighestModSeq uint64
}

// Account returns the account of user addr, which must exist
// (ErrNoSuchUser; disabled users are returned). The first call in a
// process makes sure the Maildir exists, opens the index (rebuilding it if
// missing or corrupt) and rescans every mailbox, so files delivered by
// other tools or left unindexed by a crash are picked up. The Account is
// cached and closed by Store.Close.
func (s *Store) Account(ctx context.Context, addr Address) (*Account, error) {
	if _, err := s.user(ctx, addr); err != nil {
		return nil, err
	}
	key := addr.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("open account: store closed")
	}
	if a, ok := s.accounts[key]; ok {
		return a, nil
	}
	dir, err := s.maildirPath(addr)
	if err != nil {
		return nil, fmt.Errorf("open account %q: %w", addr, err)
	}
	if err := s.ensureMaildir(addr); err != nil {
		return nil, fmt.Errorf("open account %q: %w", addr, err)
	}
	a := &Account{store: s, addr: addr, dir: dir, idxPath: filepath.Join(dir, indexFile), stamps: map[string]dirStamp{}}
	idx, _, err := s.openIndex(a.idxPath)
	if err != nil {
		return nil, fmt.Errorf("open account %q: %w", addr, err)
	}
	a.idx = idx
	a.mu.Lock()
	err = a.rescanAllLocked(ctx)
	if err == nil {
		a.recountSizesLocked(ctx)
	}
	a.mu.Unlock()
	if err != nil {
		idx.Close()
		return nil, fmt.Errorf("open account %q: %w", addr, err)
	}
	s.accounts[key] = a
	return a, nil
}

// Address returns the account's address.
func (a *Account) Address() Address { return a.addr }

// Dir returns the Maildir root, dataDir/mail/<domain>/<local>.
func (a *Account) Dir() string { return a.dir }

func (a *Account) close() error {
	a.idxMu.Lock()
	defer a.idxMu.Unlock()
	return a.idx.Close()
}

// mailboxDir validates name and returns its canonical form and directory.
func (a *Account) mailboxDir(name string) (string, string, error) {
	canon, err := validateMailboxName(name)
	if err != nil {
		return "", "", err
	}
	rel, err := mailboxRel(canon)
	if err != nil {
		return "", "", err
	}
	return canon, filepath.Join(a.dir, rel), nil
}

// Mailboxes lists INBOX first, then the other folders sorted by name.
func (a *Account) Mailboxes(ctx context.Context) ([]MailboxInfo, error) {
	entries, err := os.ReadDir(a.dir)
	if err != nil {
		return nil, fmt.Errorf("list mailboxes of %q: %w", a.addr, err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() || len(n) < 2 || n[0] != '.' || n == ".." {
			continue
		}
		imapName := ""
		for i, part := range splitDots(n[1:]) {
			if i > 0 {
				imapName += "/"
			}
			imapName += part
		}
		if _, err := validateMailboxName(imapName); err != nil || imapName == Inbox {
			continue
		}
		if fi, err := os.Stat(filepath.Join(a.dir, n, "cur")); err != nil || !fi.IsDir() {
			continue
		}
		names = append(names, imapName)
	}
	slices.Sort(names)
	out := []MailboxInfo{{Name: Inbox}}
	for _, n := range names {
		out = append(out, MailboxInfo{Name: n, SpecialUse: specialUse(n)})
	}
	return out, nil
}

func splitDots(s string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// CreateMailbox creates a folder. name uses "/" for hierarchy ("A/B" is
// stored as the Maildir++ folder ".A.B"); '.' is not allowed in names.
// ErrExists if it exists (INBOX always does).
func (a *Account) CreateMailbox(ctx context.Context, name string) error {
	canon, dir, err := a.mailboxDir(name)
	if err != nil {
		return fmt.Errorf("create mailbox: %w", err)
	}
	if canon == Inbox {
		return fmt.Errorf("create mailbox %q: %w", canon, ErrExists)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("create mailbox %q: %w", canon, ErrExists)
	}
	if err := a.store.own.makeMaildir(dir, true); err != nil {
		return fmt.Errorf("create mailbox %q: %w", canon, err)
	}
	// A new folder gets a fresh UIDVALIDITY even if an index row was left
	// by an earlier folder of the same name.
	a.idxMu.RLock()
	err = forgetMailbox(ctx, a.idx, canon)
	a.idxMu.RUnlock()
	if err != nil {
		return fmt.Errorf("create mailbox %q: %w", canon, err)
	}
	if err := a.rescanLocked(ctx, canon); err != nil {
		return fmt.Errorf("create mailbox %q: %w", canon, err)
	}
	return nil
}

// Deliver stores a message in mailbox durably: it streams r into tmp/,
// fsyncs the file, renames it into new/ (or cur/ when system flags are
// given), fsyncs the directories, and only then records it in the index.
// When Deliver returns nil the message is on disk. On error nothing is
// left behind (no tmp file, no half-indexed message). If the process dies
// after the rename, the next Rescan indexes the file. Concurrent
// deliveries to one account share the renaming step: one lock, one fsync
// per directory and one index transaction (see deliverbatch.go).
func (a *Account) Deliver(ctx context.Context, mailbox string, r io.Reader, opts DeliverOptions) (Message, error) {
	return a.deliver(ctx, mailbox, opts, func(dir string, date time.Time) (string, int64, error) {
		tmpPath, f, err := a.createTmp(dir, date)
		if err != nil {
			return "", 0, err
		}
		// The one stored form (canonical.go): what is written is what
		// IMAP and POP3 send, and its size is the size they announce.
		size, err := writeAndSync(ctx, f, CanonicalReader(r, false))
		if err != nil {
			os.Remove(tmpPath)
			return "", 0, err
		}
		return tmpPath, size, nil
	})
}

// DeliverLink delivers the file at src, which the caller has written
// completely, in the canonical form (CanonicalReader), and fsynced and
// will never change again, by hard-linking it
// into the mailbox instead of copying it: the queue hands over a spool
// file this way. Errors are Deliver's; one from the link itself (another
// file system, a file system without hard links) wraps ErrNoLink, and the
// caller then copies.
func (a *Account) DeliverLink(ctx context.Context, mailbox, src string, opts DeliverOptions) (Message, error) {
	return a.deliver(ctx, mailbox, opts, func(dir string, date time.Time) (string, int64, error) {
		fi, err := os.Stat(src)
		if err != nil {
			return "", 0, err
		}
		for range 5 {
			name, err := a.store.uniqueName(date)
			if err != nil {
				return "", 0, err
			}
			p := filepath.Join(dir, "tmp", name)
			err = os.Link(src, p)
			if errors.Is(err, os.ErrExist) {
				continue
			}
			if err != nil {
				return "", 0, fmt.Errorf("%w: %w", ErrNoLink, err)
			}
			// The Maildir's owner (when run as root), as createTmp
			// does; the source shares the inode and only the queue,
			// which runs as that owner, reads it.
			if err := a.store.own.fix(p); err != nil {
				os.Remove(p)
				return "", 0, err
			}
			return p, fi.Size(), nil
		}
		return "", 0, errors.New("cannot find a unique file name in tmp/")
	})
}

// ErrNoLink says DeliverLink could not link the file; copy it instead.
var ErrNoLink = errors.New("cannot link the file into the mailbox")

// deliver is Deliver and DeliverLink: place puts the message into a new
// file in dir/tmp and returns its path and size.
func (a *Account) deliver(ctx context.Context, mailbox string, opts DeliverOptions, place func(dir string, date time.Time) (string, int64, error)) (Message, error) {
	canon, dir, err := a.mailboxDir(mailbox)
	if err != nil {
		return Message{}, fmt.Errorf("deliver: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Message{}, fmt.Errorf("deliver to %q: %w", canon, ErrNotFound)
		}
		return Message{}, fmt.Errorf("deliver to %q: %w", canon, err)
	}
	flags, err := normalizeFlags(opts.Flags)
	if err != nil {
		return Message{}, fmt.Errorf("deliver to %q: %w", canon, err)
	}
	date := opts.InternalDate
	if date.IsZero() {
		date = time.Now()
	}

	tmpPath, size, err := place(dir, date)
	if err != nil {
		return Message{}, fmt.Errorf("deliver to %q: %w", canon, err)
	}
	delivered := false
	defer func() {
		if !delivered {
			os.Remove(tmpPath) // still there unless renamed and undone
		}
	}()
	if !opts.InternalDate.IsZero() {
		// Maildir readers such as Dovecot take the received date from mtime.
		if err := os.Chtimes(tmpPath, date, date); err != nil {
			return Message{}, fmt.Errorf("deliver to %q: %w", canon, err)
		}
	}
	if opts.EnforceQuota {
		if err := a.checkQuota(ctx, size); err != nil {
			return Message{}, fmt.Errorf("deliver to %q: %w", canon, err)
		}
	}

	key := filepath.Base(tmpPath) + ",S=" + strconv.FormatInt(size, 10)
	rel := "new/" + key
	if infoLetters(flags) != "" {
		rel = "cur/" + curName(key, flags, "")
	}
	// The rename, the directory fsync and the index row are shared with
	// concurrent deliveries to this account (see deliverbatch.go).
	req := &deliverReq{ctx: ctx, mailbox: canon, tmpPath: tmpPath, rel: rel,
		m: Message{Key: key, Flags: flags, InternalDate: time.Unix(0, date.UnixNano()), Size: size, Path: filepath.Join(dir, rel)}}
	a.commitDelivery(req)
	if req.err != nil {
		return Message{}, fmt.Errorf("deliver to %q: %w", canon, req.err)
	}
	delivered = true
	return req.m, nil
}

// createTmp creates a new file in dir/tmp with a fresh unique name.
func (a *Account) createTmp(dir string, date time.Time) (string, *os.File, error) {
	for range 5 {
		name, err := a.store.uniqueName(date)
		if err != nil {
			return "", nil, err
		}
		p := filepath.Join(dir, "tmp", name)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		if err := a.store.own.fix(p); err != nil {
			f.Close()
			os.Remove(p)
			return "", nil, err
		}
		return p, f, nil
	}
	return "", nil, errors.New("cannot find a unique file name in tmp/")
}

// writeAndSync streams r into f through a 64 KiB buffer, fsyncs and
// closes f, and returns the number of bytes written.
func writeAndSync(ctx context.Context, f *os.File, r io.Reader) (int64, error) {
	bw := bufio.NewWriterSize(f, 64<<10)
	n, err := io.Copy(bw, ctxReader{ctx: ctx, r: r})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("write message: %w", err)
	}
	return n, nil
}

// checkQuota returns ErrQuotaExceeded if size more bytes would take the
// user over its quota. The quota is read from the directory every time.
func (a *Account) checkQuota(ctx context.Context, size int64) error {
	u, err := a.store.user(ctx, a.addr)
	if err != nil {
		return err
	}
	if u.QuotaBytes <= 0 {
		return nil
	}
	used, err := a.Usage(ctx)
	if err != nil {
		return err
	}
	if used+size > u.QuotaBytes {
		return fmt.Errorf("user %q uses %d of %d bytes, message is %d: %w", a.addr, used, u.QuotaBytes, size, ErrQuotaExceeded)
	}
	return nil
}

// ensureIndexed makes sure mailbox exists on disk and has an index row,
// and returns its canonical name and directory.
func (a *Account) ensureIndexed(ctx context.Context, mailbox string) (string, string, error) {
	canon, dir, err := a.mailboxDir(mailbox)
	if err != nil {
		return "", "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", "", fmt.Errorf("mailbox %q: %w", canon, ErrNotFound)
		}
		return "", "", err
	}
	a.idxMu.RLock()
	var n int
	err = a.idx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mailboxes WHERE name = ?`, canon).Scan(&n)
	a.idxMu.RUnlock()
	if err != nil {
		return "", "", fmt.Errorf("mailbox %q: %w", canon, err)
	}
	if n == 0 {
		a.mu.Lock()
		err := a.rescanLocked(ctx, canon)
		a.mu.Unlock()
		if err != nil {
			return "", "", fmt.Errorf("mailbox %q: %w", canon, err)
		}
	}
	return canon, dir, nil
}

// Status returns the mailbox's UIDVALIDITY, UIDNEXT, message and unseen
// counts and total size.
func (a *Account) Status(ctx context.Context, mailbox string) (Status, error) {
	canon, _, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	var st Status
	err = a.idx.QueryRowContext(ctx, `SELECT m.uidvalidity, m.uidnext, m.highestmodseq,
		(SELECT COUNT(*) FROM messages WHERE mailbox = m.name),
		(SELECT COUNT(*) FROM messages WHERE mailbox = m.name AND instr(' ' || flags || ' ', ' \Seen ') = 0),
		(SELECT COALESCE(SUM(size), 0) FROM messages WHERE mailbox = m.name)
		FROM mailboxes m WHERE m.name = ?`, canon).Scan(&st.UIDValidity, &st.UIDNext, &st.HighestModSeq, &st.Messages, &st.Unseen, &st.Size)
	if err != nil {
		return Status{}, fmt.Errorf("status of %q: %w", canon, err)
	}
	return st, nil
}

// UIDs returns the mailbox's UIDVALIDITY and UIDNEXT: what SELECT,
// APPEND and COPY need, without counting the messages as Status does.
func (a *Account) UIDs(ctx context.Context, mailbox string) (validity, next uint32, err error) {
	canon, _, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return 0, 0, fmt.Errorf("uids: %w", err)
	}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	err = a.idx.QueryRowContext(ctx, `SELECT uidvalidity, uidnext FROM mailboxes WHERE name = ?`, canon).Scan(&validity, &next)
	if err != nil {
		return 0, 0, fmt.Errorf("uids of %q: %w", canon, err)
	}
	return validity, next, nil
}

const messageColumns = `uid, key, filename, flags, internal_date, size, modseq`

func scanMessage(sc interface{ Scan(...any) error }, dir string) (Message, string, error) {
	var m Message
	var rel, flags string
	var date int64
	if err := sc.Scan(&m.UID, &m.Key, &rel, &flags, &date, &m.Size, &m.ModSeq); err != nil {
		return Message{}, "", err
	}
	m.Flags = splitFlags(flags)
	m.InternalDate = time.Unix(0, date)
	m.Path = filepath.Join(dir, rel)
	return m, rel, nil
}

// Messages lists the messages in mailbox ordered by UID.
func (a *Account) Messages(ctx context.Context, mailbox string) ([]Message, error) {
	return a.MessageRange(ctx, mailbox, 0, math.MaxUint32)
}

// MessageRange lists the messages in mailbox with first <= UID <= last,
// ordered by UID. It reads only those index rows (the primary key), so a
// client fetching the newest few messages of a large mailbox does not pay
// for the whole list.
func (a *Account) MessageRange(ctx context.Context, mailbox string, first, last uint32) ([]Message, error) {
	canon, dir, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	rows, err := a.idx.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE mailbox = ? AND uid BETWEEN ? AND ? ORDER BY uid`, canon, first, last)
	if err != nil {
		return nil, fmt.Errorf("list messages of %q: %w", canon, err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, _, err := scanMessage(rows, dir)
		if err != nil {
			return nil, fmt.Errorf("list messages of %q: %w", canon, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list messages of %q: %w", canon, err)
	}
	return out, nil
}

// message looks up one indexed message. ErrNotFound if absent.
func (a *Account) message(ctx context.Context, canon, dir string, uid uint32) (Message, string, error) {
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	m, rel, err := scanMessage(a.idx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE mailbox = ? AND uid = ?`, canon, uid), dir)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, "", fmt.Errorf("message %d in %q: %w", uid, canon, ErrNotFound)
	}
	if err != nil {
		return Message{}, "", fmt.Errorf("message %d in %q: %w", uid, canon, err)
	}
	return m, rel, nil
}

// Open opens the message file for reading. If the file has moved (another
// tool renamed it), the mailbox is rescanned and the open retried once.
// ErrNotFound if the message does not exist. The caller closes the file.
func (a *Account) Open(ctx context.Context, mailbox string, uid uint32) (*os.File, Message, error) {
	canon, dir, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return nil, Message{}, fmt.Errorf("open message: %w", err)
	}
	for attempt := 0; ; attempt++ {
		m, _, err := a.message(ctx, canon, dir, uid)
		if err != nil {
			return nil, Message{}, err
		}
		f, err := os.Open(m.Path)
		if err == nil {
			return f, m, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, Message{}, fmt.Errorf("open message %d in %q: %w", uid, canon, err)
		}
		if attempt > 0 {
			return nil, Message{}, fmt.Errorf("open message %d in %q: %w", uid, canon, ErrNotFound)
		}
		if err := a.Rescan(ctx, canon); err != nil {
			return nil, Message{}, fmt.Errorf("open message %d in %q: %w", uid, canon, err)
		}
	}
}

// OpenMessage opens a message whose index entry the caller already has
// (from Messages or MessageRange), skipping the index lookup of Open; if
// the file has moved since, it falls back to Open.
func (a *Account) OpenMessage(ctx context.Context, mailbox string, m Message) (*os.File, error) {
	if f, err := os.Open(m.Path); err == nil {
		return f, nil
	}
	f, _, err := a.Open(ctx, mailbox, m.UID)
	return f, err
}

// SetFlags replaces the flags of a message. System flags are written to
// the Maildir info suffix (the file moves to cur/<key>:2,<letters>;
// unknown letters set by other tools are kept); keywords live in the
// index only.
func (a *Account) SetFlags(ctx context.Context, mailbox string, uid uint32, flags []string) error {
	norm, err := normalizeFlags(flags)
	if err != nil {
		return fmt.Errorf("set flags: %w", err)
	}
	_, err = a.storeFlags(ctx, mailbox, uid, func([]string) []string { return norm }, StoreOptions{})
	return err
}

// storeFlags is SetFlags, StoreFlags and UpdateFlags: update computes
// the new flags from the message's current ones, read in the index
// transaction (an immediate one: the index's write lock, across
// processes) that also holds the UNCHANGEDSINCE test, the file's rename,
// the new row and its change log entry. It returns the message after.
func (a *Account) storeFlags(ctx context.Context, mailbox string, uid uint32, update func(old []string) []string, opts StoreOptions) (Message, error) {
	canon, dir, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return Message{}, fmt.Errorf("set flags: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fresh := a.stampFresh(canon)
	for attempt := 0; ; attempt++ {
		m, changed, retry, err := a.storeFlagsOnce(ctx, canon, dir, uid, update, opts, attempt == 0)
		if retry {
			if err := a.rescanLocked(ctx, canon); err != nil {
				return Message{}, fmt.Errorf("set flags: %w", err)
			}
			continue
		}
		if err != nil {
			return Message{}, err
		}
		a.restamp(canon, fresh)
		if changed {
			a.notify(ctx, Change{Mailbox: canon, Kind: MessageFlags, UID: uid, ModSeq: m.ModSeq, Flags: m.Flags, Message: m})
		}
		return m, nil
	}
}

// storeFlagsOnce makes one attempt of storeFlags. It returns the message
// after it, whether its flags changed, or retry if the file was
// gone (renamed by another tool; may is set) and a rescan should find it.
// The caller holds a.mu.
func (a *Account) storeFlagsOnce(ctx context.Context, canon, dir string, uid uint32, update func([]string) []string, opts StoreOptions, may bool) (Message, bool, bool, error) {
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	tx, err := a.idx.BeginTx(ctx, nil)
	if err != nil {
		return Message{}, false, false, fmt.Errorf("set flags: %w", err)
	}
	defer tx.Rollback()
	old, rel, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE mailbox = ? AND uid = ?`, canon, uid), dir)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, false, false, fmt.Errorf("set flags: message %d in %q: %w", uid, canon, ErrNotFound)
	}
	if err != nil {
		return Message{}, false, false, fmt.Errorf("set flags: message %d in %q: %w", uid, canon, err)
	}
	// RFC 7162 §3.1.3: the test comes first; a failed one changes nothing.
	if opts.Conditional && old.ModSeq > opts.UnchangedSince {
		return Message{}, false, false, fmt.Errorf("set flags on %d in %q: modseq %d > %d: %w", uid, canon, old.ModSeq, opts.UnchangedSince, ErrModified)
	}
	norm, err := normalizeFlags(update(slices.Clone(old.Flags)))
	if err != nil {
		return Message{}, false, false, fmt.Errorf("set flags on %d in %q: %w", uid, canon, err)
	}
	key, _, other := parseInfo(filepath.Base(rel))
	newRel := "cur/" + curName(key, norm, other)
	if newRel != rel {
		err := os.Rename(filepath.Join(dir, rel), filepath.Join(dir, newRel))
		if errors.Is(err, os.ErrNotExist) && may {
			return Message{}, false, true, nil
		}
		if err != nil {
			return Message{}, false, false, fmt.Errorf("set flags on %d in %q: %w", uid, canon, err)
		}
		if err := syncDir(filepath.Join(dir, "cur")); err != nil {
			return Message{}, false, false, fmt.Errorf("set flags: %w", err)
		}
		if filepath.Dir(rel) != "cur" {
			if err := syncDir(filepath.Join(dir, filepath.Dir(rel))); err != nil {
				return Message{}, false, false, fmt.Errorf("set flags: %w", err)
			}
		}
	}
	changed := !slices.Equal(old.Flags, norm)
	modseq := old.ModSeq
	if changed {
		// No flag change, no MODSEQ: a STORE that sets what is set
		// is not a change a client must be told about.
		if modseq, err = logChange(ctx, tx, canon, uid, kindFlags, a.logLimit()); err != nil {
			return Message{}, false, false, fmt.Errorf("set flags on %d in %q: %w", uid, canon, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET filename = ?, flags = ?, modseq = ? WHERE mailbox = ? AND uid = ?`,
		newRel, joinFlags(norm), modseq, canon, uid); err != nil {
		return Message{}, false, false, fmt.Errorf("set flags on %d in %q: %w", uid, canon, err)
	}
	if err := tx.Commit(); err != nil {
		return Message{}, false, false, fmt.Errorf("set flags on %d in %q: %w", uid, canon, err)
	}
	m := old
	m.Flags, m.Path, m.ModSeq = norm, filepath.Join(dir, newRel), modseq
	return m, changed, false, nil
}

// Expunge removes messages: it unlinks the files, fsyncs the directories
// and removes the index rows. UIDs that do not exist are ignored.
func (a *Account) Expunge(ctx context.Context, mailbox string, uids []uint32) error {
	canon, dir, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return fmt.Errorf("expunge: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fresh := a.stampFresh(canon)
	rescanned := false
	var gone []uint32
	for _, uid := range uids {
		for {
			_, rel, err := a.message(ctx, canon, dir, uid)
			if errors.Is(err, ErrNotFound) {
				break
			}
			if err != nil {
				return fmt.Errorf("expunge: %w", err)
			}
			err = os.Remove(filepath.Join(dir, rel))
			if errors.Is(err, os.ErrNotExist) && !rescanned {
				// Renamed by another tool: find its current name.
				rescanned = true
				if err := a.rescanLocked(ctx, canon); err != nil {
					return fmt.Errorf("expunge: %w", err)
				}
				continue
			}
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("expunge %d from %q: %w", uid, canon, err)
			}
			gone = append(gone, uid)
			break
		}
	}
	if len(gone) == 0 {
		return nil
	}
	for _, sub := range []string{"new", "cur"} {
		if err := syncDir(filepath.Join(dir, sub)); err != nil {
			return fmt.Errorf("expunge: %w", err)
		}
	}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	tx, err := a.idx.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("expunge: %w", err)
	}
	defer tx.Rollback()
	slices.Sort(gone)
	gone = slices.Compact(gone)
	var logged []Change
	for _, uid := range gone {
		res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE mailbox = ? AND uid = ?`, canon, uid)
		if err != nil {
			return fmt.Errorf("expunge: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			continue // another process's rescan was first, and logged it
		}
		modseq, err := logChange(ctx, tx, canon, uid, kindExpunge, a.logLimit())
		if err != nil {
			return fmt.Errorf("expunge: %w", err)
		}
		logged = append(logged, Change{Mailbox: canon, Kind: MessageExpunged, UID: uid, ModSeq: modseq})
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("expunge: %w", err)
	}
	a.restamp(canon, fresh)
	for _, c := range logged {
		a.notify(ctx, c)
	}
	return nil
}

// Rescan brings the index of mailbox in line with the files in new/ and
// cur/: new files get UIDs (in name-time/mtime order), vanished files are
// dropped, flags are re-read from the info suffix (keywords are kept). If
// the index database is missing or corrupt, it is rebuilt from all
// mailboxes with new UIDVALIDITY values.
func (a *Account) Rescan(ctx context.Context, mailbox string) error {
	if _, _, err := a.mailboxDir(mailbox); err != nil {
		return fmt.Errorf("rescan: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := os.Stat(a.idxPath); errors.Is(err, os.ErrNotExist) {
		return a.rebuildLocked(ctx, false)
	}
	err := a.rescanLocked(ctx, mailbox)
	if isCorrupt(err) {
		return a.rebuildLocked(ctx, true)
	}
	if err != nil {
		return fmt.Errorf("rescan: %w", err)
	}
	return nil
}

// rebuildLocked replaces the index with a fresh one and rescans every
// mailbox. The caller holds a.mu.
func (a *Account) rebuildLocked(ctx context.Context, remove bool) error {
	a.store.log.Warn("rebuilding account index", "user", a.addr.String())
	a.idxMu.Lock()
	a.idx.Close()
	if remove {
		if err := removeIndexFiles(a.idxPath); err != nil {
			a.idxMu.Unlock()
			return fmt.Errorf("rebuild index: %w", err)
		}
	}
	idx, _, err := a.store.openIndex(a.idxPath)
	if err != nil {
		// Keep a usable (closed) handle; every later call reports errors.
		a.idxMu.Unlock()
		return fmt.Errorf("rebuild index: %w", err)
	}
	a.idx = idx
	a.idxMu.Unlock()
	return a.rescanAllLocked(ctx)
}

// rescanAllLocked rescans every mailbox. The caller holds a.mu.
func (a *Account) rescanAllLocked(ctx context.Context) error {
	boxes, err := a.Mailboxes(ctx)
	if err != nil {
		return err
	}
	for _, b := range boxes {
		if err := a.rescanLocked(ctx, b.Name); err != nil {
			return fmt.Errorf("rescan %q: %w", b.Name, err)
		}
		if _, dir, err := a.mailboxDir(b.Name); err == nil {
			a.cleanTmp(dir, time.Now().Add(-staleTmp))
		}
	}
	return nil
}

// staleTmp is the age after which a file in tmp/ is taken for the
// leftover of a delivery that died (a killed process, a crash), as the
// Maildir convention has it: a live delivery holds its tmp/ file for
// seconds.
const staleTmp = 36 * time.Hour

// cleanTmp removes files in dir/tmp last modified before cutoff. It runs
// when the account is first opened in a process. Errors are logged: a
// leftover costs disk space, nothing else.
func (a *Account) cleanTmp(dir string, cutoff time.Time) {
	tmp := filepath.Join(dir, "tmp")
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	removed := 0
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(tmp, e.Name())); err != nil {
			a.store.log.Warn("remove stale tmp file", "path", filepath.Join(tmp, e.Name()), "err", err)
			continue
		}
		removed++
	}
	if removed > 0 {
		a.store.log.Info("removed stale tmp files", "user", a.addr.String(), "dir", tmp, "count", removed)
	}
}

// Usage returns the total size in bytes of all indexed messages in all
// mailboxes.
func (a *Account) Usage(ctx context.Context) (int64, error) {
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	var n int64
	if err := a.idx.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM messages`).Scan(&n); err != nil {
		return 0, fmt.Errorf("usage of %q: %w", a.addr, err)
	}
	return n, nil
}
