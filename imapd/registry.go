package imapd

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"yubin/storage"
)

// registry holds the in-memory state of every mailbox some session has
// selected: its UID list (sequence number i is uids[i-1]) and its tracker.
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

	mu      sync.Mutex
	loaded  bool
	pending []storage.Change // changes seen while loading
	uids    []uint32
	tracker *imapserver.MailboxTracker
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

// applyLocked updates the UID list and queues the client updates. Changes
// already reflected (a message the load saw) are ignored.
func (b *mailbox) applyLocked(c storage.Change, source *imapserver.SessionTracker) {
	switch c.Kind {
	case storage.MessageAdded:
		if n := len(b.uids); n > 0 && b.uids[n-1] >= c.UID {
			return
		}
		b.uids = append(b.uids, c.UID)
		if b.tracker != nil {
			// One message at a time: the tracker's sequence number
			// mapping handles increments of one.
			b.tracker.QueueNumMessages(uint32(len(b.uids)))
		}
	case storage.MessageExpunged:
		i, ok := slices.BinarySearch(b.uids, c.UID)
		if !ok {
			return
		}
		b.uids = slices.Delete(b.uids, i, i+1)
		if b.tracker != nil {
			b.tracker.QueueExpunge(uint32(i + 1))
		}
	case storage.MessageFlags:
		i, ok := slices.BinarySearch(b.uids, c.UID)
		if !ok || b.tracker == nil {
			return
		}
		b.tracker.QueueMessageFlags(uint32(i+1), imap.UID(c.UID), imapFlags(c.Flags), source)
	}
}

// open returns the mailbox, loading it on first use. Every open is paired
// with a release.
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
		return b, nil
	}
	b = &mailbox{key: k, ready: make(chan struct{}), refs: 1}
	r.boxes[k] = b
	r.mu.Unlock()

	// Registered before loading: changes made meanwhile are queued in
	// pending and merged below.
	msgs, err := acct.Messages(ctx, name)
	b.mu.Lock()
	if err == nil {
		b.uids = make([]uint32, len(msgs))
		for i, m := range msgs {
			b.uids[i] = m.UID
		}
		for _, c := range b.pending {
			b.applyLocked(c, nil)
		}
		b.tracker = imapserver.NewMailboxTracker(uint32(len(b.uids)))
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

// release drops one reference; the last one forgets the mailbox.
func (r *registry) release(b *mailbox) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b.refs--
	if b.refs == 0 && r.boxes[b.key] == b {
		delete(r.boxes, b.key)
	}
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
	r.mu.Lock()
	b := r.boxes[boxKey{acct.Address().String(), name}]
	r.mu.Unlock()
	if b == nil {
		return nil
	}
	<-b.ready
	msgs, err := acct.Messages(ctx, name)
	if err != nil {
		return err
	}
	current := make([]uint32, len(msgs))
	for i, m := range msgs {
		current[i] = m.UID
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return nil
	}
	maxCurrent := uint32(0)
	if n := len(current); n > 0 {
		maxCurrent = current[n-1]
	}
	var gone []uint32
	for _, uid := range b.uids {
		if uid > maxCurrent {
			break
		}
		if _, ok := slices.BinarySearch(current, uid); !ok {
			gone = append(gone, uid)
		}
	}
	for _, uid := range gone {
		b.applyLocked(storage.Change{Kind: storage.MessageExpunged, UID: uid}, nil)
	}
	for _, uid := range current {
		b.applyLocked(storage.Change{Kind: storage.MessageAdded, UID: uid}, nil)
	}
	return nil
}
