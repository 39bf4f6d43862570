package imapd

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"yubin/storage"
)

// registry holds the in-memory state of every mailbox some session has
// selected: the index entry of each message in UID order (sequence number
// i is msgs[i-1]) and its tracker. The storage observer keeps it current,
// so FETCH, SEARCH, STORE and STATUS of an open mailbox answer from memory
// and read only the message files they need; the index is read once, when
// the first session selects the mailbox.
type registry struct {
	mu    sync.Mutex
	boxes map[boxKey]*mailbox
}

type boxKey struct{ user, name string }

// mailbox is one open mailbox, shared by the sessions that selected it.
type mailbox struct {
	key   boxKey
	ready chan struct{} // closed once loaded
	err   error         // load error, set before ready closes
	refs  int           // guarded by registry.mu

	mu          sync.Mutex
	loaded      bool
	pending     []storage.Change // changes seen while loading
	uidValidity uint32
	uidNext     uint32
	// msgs are the messages by UID. An entry is never changed: a change
	// replaces the pointer, so entries taken under mu stay valid (as the
	// state of that moment) after it is released.
	msgs    []*storage.Message
	headers map[uint32]*cachedHeader // see headercache.go
	tracker *imapserver.MailboxTracker
	// changed is closed after updates were queued on tracker; nil until
	// an IDLE session asks for it (see changes).
	changed chan struct{}
}

func newRegistry() *registry { return &registry{boxes: map[boxKey]*mailbox{}} }

// sourceKey marks a context with the session tracker that made a change, so
// that session is not told about its own STORE.
type sourceKey struct{}

func withSource(ctx context.Context, t *imapserver.SessionTracker) context.Context {
	return context.WithValue(ctx, sourceKey{}, t)
}

// observe applies one storage change to the mailbox, if it is open.
func (r *registry) observe(ctx context.Context, c storage.Change) {
	r.mu.Lock()
	b := r.boxes[boxKey{c.User.String(), c.Mailbox}]
	r.mu.Unlock()
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.loaded {
		b.pending = append(b.pending, c)
		return
	}
	source, _ := ctx.Value(sourceKey{}).(*imapserver.SessionTracker)
	b.applyLocked(c, source)
}

// find returns the position of uid in msgs. The caller holds b.mu.
func (b *mailbox) find(uid uint32) (int, bool) {
	return slices.BinarySearchFunc(b.msgs, uid, func(m *storage.Message, uid uint32) int { return cmp.Compare(m.UID, uid) })
}

// lastUID is the highest UID in the mailbox. The caller holds b.mu.
func (b *mailbox) lastUID() uint32 {
	if n := len(b.msgs); n > 0 {
		return b.msgs[n-1].UID
	}
	return 0
}

// applyLocked updates the messages and queues the client updates. Changes
// already reflected (a message the load saw) are ignored.
func (b *mailbox) applyLocked(c storage.Change, source *imapserver.SessionTracker) {
	defer b.notifyLocked()
	m := c.Message
	m.UID = c.UID
	switch c.Kind {
	case storage.MessageAdded:
		if b.lastUID() >= c.UID {
			return
		}
		b.msgs = append(b.msgs, &m)
		b.uidNext = max(b.uidNext, c.UID+1)
		if b.tracker != nil {
			// One message at a time: the tracker's sequence number
			// mapping handles increments of one.
			b.tracker.QueueNumMessages(uint32(len(b.msgs)))
		}
	case storage.MessageExpunged:
		i, ok := b.find(c.UID)
		if !ok {
			return
		}
		b.msgs = slices.Delete(b.msgs, i, i+1)
		delete(b.headers, c.UID)
		if b.tracker != nil {
			b.tracker.QueueExpunge(uint32(i + 1))
		}
	case storage.MessageFlags:
		i, ok := b.find(c.UID)
		if !ok {
			return
		}
		if m.Path == "" { // a change that carries flags only
			m = *b.msgs[i]
		}
		m.Flags = c.Flags
		b.msgs[i] = &m
		if b.tracker != nil {
			b.tracker.QueueMessageFlags(uint32(i+1), imap.UID(c.UID), imapFlags(c.Flags), source)
		}
	}
}

// changes returns a channel closed when updates are next queued on the
// tracker. Taken before a Poll, it cannot miss an update: one queued
// before the Poll is in the session's queue, one queued after closes it.
func (b *mailbox) changes() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.changed
}

// notifyLocked wakes the sessions waiting in changes. The caller holds b.mu.
func (b *mailbox) notifyLocked() {
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
}

// open returns the mailbox, loading it on first use. Every open is paired
// with a release. A mailbox whose UIDVALIDITY changed underneath (deleted
// and created again, or an index rebuild) is left to the sessions that
// have it selected, and a fresh one is loaded.
func (r *registry) open(ctx context.Context, acct *storage.Account, name string) (*mailbox, error) {
	k := boxKey{acct.Address().String(), name}
	r.mu.Lock()
	b := r.boxes[k]
	if b != nil {
		b.refs++
		r.mu.Unlock()
		<-b.ready
		if b.err != nil {
			r.release(b)
			return nil, b.err
		}
		validity, _, err := acct.UIDs(ctx, name)
		if err != nil {
			r.release(b)
			return nil, err
		}
		if b.validity() == validity {
			return b, nil
		}
		r.mu.Lock()
		if r.boxes[k] == b {
			delete(r.boxes, k)
		}
		r.mu.Unlock()
		r.release(b)
		return r.open(ctx, acct, name)
	}
	b = &mailbox{key: k, ready: make(chan struct{}), refs: 1}
	r.boxes[k] = b
	r.mu.Unlock()

	// Registered before loading: changes made meanwhile are queued in
	// pending and merged below.
	validity, next, err := acct.UIDs(ctx, name)
	var msgs []storage.Message
	if err == nil {
		msgs, err = acct.Messages(ctx, name)
	}
	b.mu.Lock()
	if err == nil {
		b.uidValidity, b.uidNext = validity, next
		b.msgs = make([]*storage.Message, len(msgs))
		for i := range msgs {
			b.msgs[i] = &msgs[i]
		}
		b.uidNext = max(b.uidNext, b.lastUID()+1)
		for _, c := range b.pending {
			b.applyLocked(c, nil)
		}
		b.tracker = imapserver.NewMailboxTracker(uint32(len(b.msgs)))
	}
	b.pending = nil
	b.loaded = true
	b.err = err
	b.mu.Unlock()
	close(b.ready)
	if err != nil {
		r.release(b)
		return nil, err
	}
	return b, nil
}

func (b *mailbox) validity() uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.uidValidity
}

// release drops one reference; the last one forgets the mailbox.
func (r *registry) release(b *mailbox) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b.refs--
	if b.refs == 0 && r.boxes[b.key] == b {
		delete(r.boxes, b.key)
	}
}

// lookup returns user's mailbox name if it is open and loaded, with a
// reference the caller releases; nil otherwise.
func (r *registry) lookup(user storage.Address, name string) *mailbox {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.boxes[boxKey{user.String(), name}]
	if b == nil {
		return nil
	}
	select {
	case <-b.ready:
		if b.err != nil {
			return nil
		}
		b.refs++
		return b
	default:
		return nil
	}
}

// status counts the messages of a loaded mailbox, as storage.Account.Status
// would, plus those marked \Deleted.
func (b *mailbox) status() (st storage.Status, deleted int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st = storage.Status{UIDValidity: b.uidValidity, UIDNext: b.uidNext, Messages: len(b.msgs)}
	for _, m := range b.msgs {
		st.Size += m.Size
		if !slices.Contains(m.Flags, storage.FlagSeen) {
			st.Unseen++
		}
		if slices.Contains(m.Flags, storage.FlagDeleted) {
			deleted++
		}
	}
	return st, deleted
}

func imapFlags(flags []string) []imap.Flag {
	out := make([]imap.Flag, len(flags))
	for i, f := range flags {
		out[i] = imap.Flag(f)
	}
	return out
}

func storageFlags(flags []imap.Flag) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if strings.EqualFold(string(f), `\Recent`) {
			continue
		}
		out = append(out, string(f))
	}
	return out
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

// sync brings an open mailbox in line with the index after another
// process (mailctl import, a restore) changed it: such writers update the
// index themselves, so no change reached the observer. Messages added in
// this process after the snapshot have higher UIDs than it and are left
// alone.
func (r *registry) sync(ctx context.Context, acct *storage.Account, name string) error {
	b := r.lookup(acct.Address(), name)
	if b == nil {
		return nil
	}
	defer r.release(b)
	current, err := acct.Messages(ctx, name)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	maxCurrent := uint32(0)
	if n := len(current); n > 0 {
		maxCurrent = current[n-1].UID
	}
	var changes []storage.Change
	for _, m := range b.msgs {
		if m.UID > maxCurrent {
			break
		}
		i, ok := slices.BinarySearchFunc(current, m.UID, func(m storage.Message, uid uint32) int { return cmp.Compare(m.UID, uid) })
		switch {
		case !ok:
			changes = append(changes, storage.Change{Kind: storage.MessageExpunged, UID: m.UID})
		case !slices.Equal(current[i].Flags, m.Flags):
			changes = append(changes, storage.Change{Kind: storage.MessageFlags, UID: m.UID, Flags: current[i].Flags, Message: current[i]})
		case current[i].Path != m.Path:
			// Renamed with the same flags: nothing to tell clients.
			if j, ok := b.find(m.UID); ok {
				b.msgs[j] = &current[i]
			}
		}
	}
	for _, c := range changes {
		b.applyLocked(c, nil)
	}
	for _, m := range current {
		b.applyLocked(storage.Change{Kind: storage.MessageAdded, UID: m.UID, Flags: m.Flags, Message: m}, nil)
	}
	return nil
}
