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
	idxMu sync.RWMutex // guards idx and st (replaced on rebuild)
	idx   *sql.DB
	st    *indexStmts // prepared on idx (stmts.go)

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
	// Recent is the number of messages no session has claimed as
	// \Recent yet (STATUS RECENT, RFC 3501 §6.3.10): UIDs above the
	// mailbox's mark (ClaimRecent). Counting claims nothing.
	Recent int
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
	if err := a.setIndex(idx); err != nil {
		idx.Close()
		return nil, fmt.Errorf("open account %q: %w", addr, err)
	}
	a.mu.Lock()
	err = a.rescanAllLocked(ctx)
	if err == nil {
		a.recountSizesLocked(ctx)
	}
	a.mu.Unlock()
	if err != nil {
		a.close()
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
	a.st.close()
	return a.idx.Close()
}

// setIndex makes db the account's index and prepares its statements.
// The caller holds idxMu exclusively or has not shared a yet.
func (a *Account) setIndex(db *sql.DB) error {
	st, err := prepareIndex(db)
	if err != nil {
		return err
	}
	a.idx, a.st = db, st
	return nil
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
	uses, err := a.specialUses()
	if err != nil {
		return nil, err
	}
	out := []MailboxInfo{{Name: Inbox}}
	for _, n := range names {
		out = append(out, MailboxInfo{Name: n, SpecialUse: specialUseOf(uses, n)})
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
	var validity, next uint32
	err = a.st.mailboxRow.QueryRowContext(ctx, canon).Scan(&validity, &next)
	a.idxMu.RUnlock()
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("mailbox %q: %w", canon, err)
	}
	if err != nil {
		a.mu.Lock()
		err := a.rescanLocked(ctx, canon)
		a.mu.Unlock()
		if err != nil {
			return "", "", fmt.Errorf("mailbox %q: %w", canon, err)
		}
	}
	return canon, dir, nil
}

// Status returns the mailbox's UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ,
// message, unseen and recent counts and total size: one query.
func (a *Account) Status(ctx context.Context, mailbox string) (Status, error) {
	canon, _, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	var st Status
	err = a.st.status.QueryRowContext(ctx, canon).Scan(&st.UIDValidity, &st.UIDNext, &st.HighestModSeq,
		&st.Messages, &st.Unseen, &st.Size, &st.Recent)
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
	err = a.st.mailboxRow.QueryRowContext(ctx, canon).Scan(&validity, &next)
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
	m.Path = messagePath(dir, rel)
	return m, rel, nil
}

// Messages lists the messages in mailbox ordered by UID.
func (a *Account) Messages(ctx context.Context, mailbox string) ([]Message, error) {
	return a.MessageRange(ctx, mailbox, 0, math.MaxUint32)
}

// MessageRange lists the messages in mailbox with first <= UID <= last,
// ordered by UID. It answers from the mailbox's in-memory snapshot,
// brought up to the change log's HIGHESTMODSEQ first (snapshot.go), and
// copies only the range: the caller may keep and modify the slice (not
// the Flags slices it shares).
func (a *Account) MessageRange(ctx context.Context, mailbox string, first, last uint32) ([]Message, error) {
	out, err := a.readMessages(ctx, mailbox, func(msgs []Message) []Message { return uidRange(msgs, first, last) })
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return out, nil
}

// MessagesByUIDs returns the messages of mailbox with the given UIDs
// (any order, duplicates allowed), ordered by UID: FETCH of a sparse UID
// set (`UID FETCH 5,900,3000`) without listing the range between. UIDs
// that do not exist are left out. It answers from the mailbox's snapshot
// (snapshot.go) as MessageRange does.
func (a *Account) MessagesByUIDs(ctx context.Context, mailbox string, uids []uint32) ([]Message, error) {
	if len(uids) == 0 {
		if _, _, _, err := a.mailboxState(ctx, mailbox); err != nil {
			return nil, fmt.Errorf("list messages: %w", err)
		}
		return nil, nil
	}
	out, err := a.readMessages(ctx, mailbox, func(msgs []Message) []Message { return uidList(msgs, uids) })
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return out, nil
}

// scanMessages reads every row of rows (messageColumns) and closes it.
func scanMessages(rows *sql.Rows, dir string) ([]Message, error) {
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, _, err := scanMessage(rows, dir)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// message looks up one indexed message. ErrNotFound if absent.
func (a *Account) message(ctx context.Context, canon, dir string, uid uint32) (Message, string, error) {
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	m, rel, err := scanMessage(a.st.message.QueryRowContext(ctx, canon, uid), dir)
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
	_, err = a.storeOne(ctx, mailbox, uid, func([]string) []string { return norm }, StoreOptions{})
	return err
}

// storeOne is storeFlags for one UID: ErrNotFound if it does not exist,
// ErrModified if the UNCHANGEDSINCE test refused it.
func (a *Account) storeOne(ctx context.Context, mailbox string, uid uint32, update func(old []string) []string, opts StoreOptions) (Message, error) {
	res, err := a.storeFlags(ctx, mailbox, []uint32{uid}, update, opts)
	switch {
	case err != nil:
		return Message{}, err
	case len(res.Messages) == 1:
		return res.Messages[0], nil
	case len(res.Modified) == 1:
		return Message{}, fmt.Errorf("set flags on %d in %q: %w", uid, mailbox, ErrModified)
	default:
		return Message{}, fmt.Errorf("set flags: message %d in %q: %w", uid, mailbox, ErrNotFound)
	}
}

// storeFlags is SetFlags, StoreFlags and UpdateFlags: for each UID,
// update computes the new flags from the message's current ones, read
// in the index transaction (an immediate one: the index's write lock,
// across processes) that also holds the UNCHANGEDSINCE test, the file's
// rename, the new row and its change log entry. All the UIDs are one
// transaction and one fsync of cur/ (STORE 1:1000 +FLAGS \Seen commits
// once), except that a file another tool renamed meanwhile commits what
// came before it, rescans and carries on. UIDs that do not exist are
// skipped. On an error, the messages committed before it are in the
// result (and were announced to the observer).
func (a *Account) storeFlags(ctx context.Context, mailbox string, uids []uint32, update func(old []string) []string, opts StoreOptions) (UpdateResult, error) {
	var res UpdateResult
	canon, dir, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return res, fmt.Errorf("set flags: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fresh := a.stampFresh(canon)
	var logged []Change
	defer func() {
		for _, c := range logged {
			a.notify(ctx, c)
		}
	}()
	var retried uint32 // the UID whose vanished file a rescan looked for
	for len(uids) > 0 {
		n, retry, err := a.storeFlagsBatch(ctx, canon, dir, uids, update, opts, retried, &res, &logged)
		uids = uids[n:]
		if err != nil {
			return res, err
		}
		if !retry {
			break
		}
		retried = uids[0]
		if err := a.rescanLocked(ctx, canon); err != nil {
			return res, fmt.Errorf("set flags: %w", err)
		}
	}
	a.restamp(canon, fresh)
	return res, nil
}

// storeFlagsBatch makes one transaction of storeFlags over uids and
// returns how many UIDs it handled (committed). It stops before a UID
// whose file is gone (renamed by another tool), with retry set unless
// that UID is noRetry (a rescan already looked for it), and before a UID
// whose new flags are invalid, with that error; what came before is
// committed. A failure of the index or of an fsync commits nothing
// (files already renamed keep their new names; their directory stamps
// are stale, so the next Refresh indexes them). The caller holds a.mu.
func (a *Account) storeFlagsBatch(ctx context.Context, canon, dir string, uids []uint32, update func([]string) []string,
	opts StoreOptions, noRetry uint32, res *UpdateResult, logged *[]Change) (int, bool, error) {
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	tx, err := a.idx.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, fmt.Errorf("set flags: %w", err)
	}
	defer tx.Rollback()
	sel := tx.StmtContext(ctx, a.st.message)
	upd := tx.StmtContext(ctx, a.st.updateFlags)
	limit := a.logLimit()
	var stored []Message
	var modified []uint32
	var changes []Change
	syncNew, syncCur := false, false
	retry := false
	var stop error
	i := 0
loop:
	for ; i < len(uids); i++ {
		uid := uids[i]
		old, rel, err := scanMessage(sel.QueryRowContext(ctx, canon, uid), dir)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, false, fmt.Errorf("set flags: message %d in %q: %w", uid, canon, err)
		}
		// RFC 7162 §3.1.3: the test comes first; a failed one changes nothing.
		if opts.Conditional && old.ModSeq > opts.UnchangedSince {
			modified = append(modified, uid)
			continue
		}
		norm, err := normalizeFlags(update(slices.Clone(old.Flags)))
		if err != nil {
			stop = fmt.Errorf("set flags on %d in %q: %w", uid, canon, err)
			break
		}
		key, _, other := parseInfo(filepath.Base(rel))
		newRel := "cur/" + curName(key, norm, other)
		if newRel != rel {
			err := os.Rename(filepath.Join(dir, rel), filepath.Join(dir, newRel))
			switch {
			case errors.Is(err, os.ErrNotExist) && uid != noRetry:
				retry = true
				break loop
			case err != nil:
				stop = fmt.Errorf("set flags on %d in %q: %w", uid, canon, err)
				break loop
			}
			syncCur = true
			syncNew = syncNew || filepath.Dir(rel) != "cur"
		}
		modseq := old.ModSeq
		changed := !slices.Equal(old.Flags, norm)
		if changed {
			// No flag change, no MODSEQ: a STORE that sets what is set
			// is not a change a client must be told about.
			if modseq, err = a.st.logChange(ctx, tx, canon, uid, kindFlags, limit); err != nil {
				return 0, false, fmt.Errorf("set flags on %d in %q: %w", uid, canon, err)
			}
		}
		if _, err := upd.ExecContext(ctx, newRel, joinFlags(norm), modseq, canon, uid); err != nil {
			return 0, false, fmt.Errorf("set flags on %d in %q: %w", uid, canon, err)
		}
		m := old
		m.Flags, m.Path, m.ModSeq = norm, filepath.Join(dir, newRel), modseq
		stored = append(stored, m)
		if changed {
			changes = append(changes, Change{Mailbox: canon, Kind: MessageFlags, UID: uid, ModSeq: modseq, Flags: m.Flags, Message: m})
		}
	}
	// The renames are durable before the index says so.
	for _, d := range []struct {
		sub     string
		renamed bool
	}{{"cur", syncCur}, {"new", syncNew}} {
		if d.renamed {
			if err := syncDir(filepath.Join(dir, d.sub)); err != nil {
				return 0, false, fmt.Errorf("set flags: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, false, fmt.Errorf("set flags in %q: %w", canon, err)
	}
	res.Messages = append(res.Messages, stored...)
	res.Modified = append(res.Modified, modified...)
	*logged = append(*logged, changes...)
	return i, retry, stop
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
		res, err := tx.StmtContext(ctx, a.st.deleteMessage).ExecContext(ctx, canon, uid)
		if err != nil {
			return fmt.Errorf("expunge: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			continue // another process's rescan was first, and logged it
		}
		modseq, err := a.st.logChange(ctx, tx, canon, uid, kindExpunge, a.logLimit())
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
	a.st.close()
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
	if err := a.setIndex(idx); err != nil {
		idx.Close()
		a.idxMu.Unlock()
		return fmt.Errorf("rebuild index: %w", err)
	}
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
// mailboxes (one row: usageSchema).
func (a *Account) Usage(ctx context.Context) (int64, error) {
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	var n, count int64
	if err := a.st.usage.QueryRowContext(ctx).Scan(&n, &count); err != nil {
		return 0, fmt.Errorf("usage of %q: %w", a.addr, err)
	}
	return n, nil
}
