package storage

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// ChangeKind says what happened to a message.
type ChangeKind int

const (
	// MessageAdded: a new message (delivery, APPEND, COPY, or a file
	// found by a rescan). UIDs of additions to one mailbox increase.
	MessageAdded ChangeKind = iota
	// MessageFlags: the message's flags changed to Flags.
	MessageFlags
	// MessageExpunged: the message is gone.
	MessageExpunged
)

// Change is one change to a mailbox, published to the Observer and
// returned by Poll and Changes.
type Change struct {
	User    Address
	Mailbox string
	Kind    ChangeKind
	UID     uint32
	// ModSeq is the change's MODSEQ in the mailbox's change log
	// (modseq.go); for MessageAdded and MessageFlags it is also
	// Message.ModSeq when published.
	ModSeq uint64
	Flags  []string // for MessageAdded and MessageFlags
	// Message is the index entry after the change (MessageAdded and
	// MessageFlags; a flag change may also move the file), so an observer
	// can keep its own copy of a mailbox without asking the index.
	Message Message
}

// Observer receives every change made through this Store. It is called
// with the account's write lock held, so it sees an account's changes in
// the order they were made, and must not call back into the account (it
// may take its own locks). ctx is the context of the operation that made
// the change, which lets an observer recognise its own changes.
type Observer func(ctx context.Context, c Change)

// SetObserver installs fn (nil removes it). Set it before serving.
func (s *Store) SetObserver(fn Observer) {
	if fn == nil {
		s.observer.Store(nil)
		return
	}
	s.observer.Store(&fn)
}

// notify publishes c. The caller holds a.mu.
func (a *Account) notify(ctx context.Context, c Change) {
	if fn := a.store.observer.Load(); fn != nil {
		c.User = a.addr
		(*fn)(ctx, c)
	}
}

// dirStamp is the modification times of a mailbox's new/ and cur/.
type dirStamp struct{ newDir, curDir time.Time }

func readStamp(dir string) (dirStamp, error) {
	n, err := os.Stat(filepath.Join(dir, "new"))
	if err != nil {
		return dirStamp{}, err
	}
	c, err := os.Stat(filepath.Join(dir, "cur"))
	if err != nil {
		return dirStamp{}, err
	}
	return dirStamp{n.ModTime(), c.ModTime()}, nil
}

// stampFresh reports whether the index of mailbox is known to match its
// directories right now. The caller holds a.mu.
func (a *Account) stampFresh(mailbox string) bool {
	old, ok := a.stamps[mailbox]
	if !ok {
		return false
	}
	_, dir, err := a.mailboxDir(mailbox)
	if err != nil {
		return false
	}
	cur, err := readStamp(dir)
	return err == nil && cur == old
}

// restamp records the directories' times after our own change, if the
// index matched them before it; otherwise the next Refresh rescans.
// The caller holds a.mu.
func (a *Account) restamp(mailbox string, fresh bool) {
	if !fresh {
		delete(a.stamps, mailbox)
		return
	}
	_, dir, err := a.mailboxDir(mailbox)
	if err != nil {
		return
	}
	if st, err := readStamp(dir); err == nil {
		a.stamps[mailbox] = st
	}
}

// Refresh picks up changes other programs made to mailbox's files (a
// message dropped into new/, a file renamed or removed): it compares the
// directories' modification times with those the index last matched and
// rescans only when they differ, so it is cheap enough for every IMAP
// NOOP. It reports whether it rescanned.
func (a *Account) Refresh(ctx context.Context, mailbox string) (bool, error) {
	canon, _, err := a.mailboxDir(mailbox)
	if err != nil {
		return false, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stampFresh(canon) {
		return false, nil
	}
	if err := a.rescanLocked(ctx, canon); err != nil {
		return false, err
	}
	return true, nil
}
