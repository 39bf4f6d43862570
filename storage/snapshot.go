package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Message snapshots: the message-metadata reads (MessageRange, Messages,
// MessagesByUIDs) answer from a per-mailbox copy of the index rows held
// in memory, so `UID FETCH 1:* (FLAGS)` and SEARCH on a 10,000-message
// mailbox copy a slice instead of stepping SQLite through every row.
//
// A snapshot is derived data, never a second source of truth: it is the
// mailbox's messages (sorted by UID, the Message values the index gives)
// as of one HIGHESTMODSEQ and UIDVALIDITY. Every read first reads the
// mailbox's current (UIDVALIDITY, HIGHESTMODSEQ) row (one prepared,
// indexed query, as Poll does). If it matches, the read copies from the
// snapshot; if the log has moved on, the changes since the snapshot's
// MODSEQ are applied from the change log (Poll: new, flags and expunge
// with full message data) under the snapshot's lock first; if the log no
// longer reaches back (ErrChangesExpired), UIDVALIDITY changed or
// anything else is off, the snapshot is reloaded from the index. Changes
// by other processes move HIGHESTMODSEQ, so they are seen at the next
// read like this process's own.
//
// Applying a change is idempotent (a new or flag change puts the
// message as it is now, an expunge removes the UID), and a reload reads
// the mailbox row before the messages, so a snapshot's content is never
// older than its MODSEQ: replaying changes it already holds is harmless.
//
// Snapshots are shared by every user of the Store's accounts in the
// process and bounded by Options.SnapshotMessages messages in total: the
// least recently read are dropped first. DeleteMailbox and RenameMailbox
// drop the snapshots they touch; a rescan that moved files without a
// flag change (no MODSEQ, only Message.Path differs) drops its mailbox's.

// defaultSnapshotMessages bounds the messages held in snapshots per Store
// (an estimate, not measured: roughly 300 bytes per Message with its
// path, key and flag strings, so a few hundred MB at the bound).
const defaultSnapshotMessages = 1_000_000

// snapshots is the Store's set of mailbox snapshots.
type snapshots struct {
	budget int // messages in all snapshots; < 0 disables them
	clock  atomic.Uint64
	loads  atomic.Int64 // reloads from the index (tests)

	mu    sync.Mutex
	m     map[snapKey]*snapshot
	total int // sum of counted over m
}

type snapKey struct {
	acct    *Account
	mailbox string
}

// snapshot is one mailbox's messages as of validity and modseq.
type snapshot struct {
	used atomic.Uint64 // snapshots.clock at the last read

	mu       sync.RWMutex
	loaded   bool
	validity uint32
	modseq   uint64
	dir      string
	msgs     []Message // sorted by UID; elements are replaced, never mutated

	counted int // len(msgs) as added to snapshots.total (guarded by snapshots.mu)
}

func newSnapshots(budget int) *snapshots {
	if budget == 0 {
		budget = defaultSnapshotMessages
	}
	return &snapshots{budget: budget, m: map[snapKey]*snapshot{}}
}

// get returns the snapshot of the account's mailbox, creating an empty
// one, or nil when snapshots are disabled.
func (ss *snapshots) get(a *Account, canon string) *snapshot {
	if ss == nil || ss.budget < 0 {
		return nil
	}
	k := snapKey{a, canon}
	ss.mu.Lock()
	sn := ss.m[k]
	if sn == nil {
		sn = &snapshot{}
		ss.m[k] = sn
	}
	ss.mu.Unlock()
	sn.used.Store(ss.clock.Add(1))
	return sn
}

// resized records sn's new size and drops the least recently read
// snapshots (never sn) while the total is over the budget.
func (ss *snapshots) resized(a *Account, canon string, sn *snapshot, n int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m[snapKey{a, canon}] != sn {
		return // dropped meanwhile
	}
	ss.total += n - sn.counted
	sn.counted = n
	for ss.total > ss.budget {
		var victim snapKey
		var oldest *snapshot
		for k, o := range ss.m {
			if o != sn && o.counted > 0 && (oldest == nil || o.used.Load() < oldest.used.Load()) {
				victim, oldest = k, o
			}
		}
		if oldest == nil {
			return // sn alone is over the budget: keep it
		}
		ss.total -= oldest.counted
		delete(ss.m, victim)
	}
}

// drop forgets the snapshots of the account's mailboxes for which match
// is true.
func (ss *snapshots) drop(a *Account, match func(canon string) bool) {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, sn := range ss.m {
		if k.acct == a && match(k.mailbox) {
			ss.total -= sn.counted
			delete(ss.m, k)
		}
	}
}

// dropSnapshot forgets the snapshot of one mailbox (canonical name).
func (a *Account) dropSnapshot(canon string) {
	a.store.snaps.drop(a, func(m string) bool { return m == canon })
}

// dropSnapshots forgets every snapshot of the account.
func (a *Account) dropSnapshots() {
	a.store.snaps.drop(a, func(string) bool { return true })
}

// readMessages answers a metadata read: pick gets the mailbox's messages
// now (sorted by UID, not to be modified or kept) and returns the ones
// the caller wants as a new slice.
func (a *Account) readMessages(ctx context.Context, mailbox string, pick func([]Message) []Message) ([]Message, error) {
	canon, dir, err := a.mailboxDir(mailbox)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir + "/cur"); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("mailbox %q: %w", canon, ErrNotFound)
		}
		return nil, err
	}
	_, _, s, err := a.mailboxState(ctx, canon)
	if err != nil {
		return nil, err
	}
	sn := a.store.snaps.get(a, canon)
	if sn == nil {
		msgs, err := a.loadMessages(ctx, canon, dir)
		if err != nil {
			return nil, err
		}
		return pick(msgs), nil
	}
	sn.mu.RLock()
	if sn.loaded && sn.validity == s.UIDValidity && sn.modseq == s.HighestModSeq && sn.dir == dir {
		defer sn.mu.RUnlock()
		return pick(sn.msgs), nil
	}
	sn.mu.RUnlock()

	sn.mu.Lock()
	defer sn.mu.Unlock()
	if err := a.catchUp(ctx, canon, dir, sn, s); err != nil {
		sn.loaded, sn.msgs = false, nil
		a.store.snaps.resized(a, canon, sn, 0)
		return nil, err
	}
	a.store.snaps.resized(a, canon, sn, len(sn.msgs))
	return pick(sn.msgs), nil
}

// catchUp brings sn (write-locked) to at least the state s read before:
// nothing if it is there already (another reader caught up), the
// changes since its MODSEQ from the log, or a reload.
func (a *Account) catchUp(ctx context.Context, canon, dir string, sn *snapshot, s logState) error {
	if !sn.loaded || sn.validity != s.UIDValidity || sn.dir != dir {
		return a.reloadSnapshot(ctx, canon, dir, sn)
	}
	if sn.modseq > s.HighestModSeq {
		// Ahead of s: another reader caught up after s was read, or
		// the index went back (restored from elsewhere). Only a fresh
		// read tells.
		_, _, fresh, err := a.mailboxState(ctx, canon)
		if err != nil {
			return err
		}
		if fresh.UIDValidity == sn.validity && fresh.HighestModSeq >= sn.modseq {
			s = fresh
		} else {
			return a.reloadSnapshot(ctx, canon, dir, sn)
		}
	}
	if sn.modseq == s.HighestModSeq {
		return nil
	}
	p, err := a.Poll(ctx, canon, sn.modseq)
	if err != nil || p.UIDValidity != sn.validity {
		return a.reloadSnapshot(ctx, canon, dir, sn)
	}
	msgs, ok := applyChanges(sn.msgs, p.Changes)
	if !ok {
		return a.reloadSnapshot(ctx, canon, dir, sn)
	}
	sn.msgs, sn.modseq = msgs, p.HighestModSeq
	return nil
}

// reloadSnapshot reads sn afresh from the index: the mailbox row first,
// then the messages, so the content is at least as new as the MODSEQ.
func (a *Account) reloadSnapshot(ctx context.Context, canon, dir string, sn *snapshot) error {
	sn.loaded, sn.msgs = false, nil
	a.store.snaps.loads.Add(1)
	_, _, s, err := a.mailboxState(ctx, canon)
	if err != nil {
		return err
	}
	msgs, err := a.loadMessages(ctx, canon, dir)
	if err != nil {
		return err
	}
	sn.loaded, sn.validity, sn.modseq, sn.dir, sn.msgs = true, s.UIDValidity, s.HighestModSeq, dir, msgs
	return nil
}

// loadMessages reads every message of the mailbox from the index.
func (a *Account) loadMessages(ctx context.Context, canon, dir string) ([]Message, error) {
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	rows, err := a.st.messageRange.QueryContext(ctx, canon, 0, math.MaxUint32)
	if err != nil {
		return nil, fmt.Errorf("list messages of %q: %w", canon, err)
	}
	msgs, err := scanMessages(rows, dir)
	if err != nil {
		return nil, fmt.Errorf("list messages of %q: %w", canon, err)
	}
	return msgs, nil
}

// applyChanges applies the log's changes (as Poll gives them) to msgs,
// sorted by UID, and returns the result: a new or flag change puts the
// message as it is now, an expunge removes its UID. It reports false if
// a change is malformed (the caller reloads).
func applyChanges(msgs []Message, cs []Change) ([]Message, bool) {
	var gone map[uint32]bool
	var late []Message // added below the highest UID
	for _, c := range cs {
		switch c.Kind {
		case MessageAdded, MessageFlags:
			m := c.Message
			if m.UID != c.UID || m.UID == 0 {
				return nil, false
			}
			if i, found := slices.BinarySearchFunc(msgs, m.UID, byUID); found {
				msgs[i] = m
			} else if i == len(msgs) {
				msgs = append(msgs, m)
			} else {
				late = append(late, m)
			}
		case MessageExpunged:
			if gone == nil {
				gone = map[uint32]bool{}
			}
			gone[c.UID] = true
		default:
			return nil, false
		}
	}
	if gone == nil && late == nil {
		return msgs, true
	}
	out := msgs[:0]
	for _, m := range msgs {
		if !gone[m.UID] {
			out = append(out, m)
		}
	}
	if late != nil {
		for _, m := range late {
			if !gone[m.UID] {
				out = append(out, m)
			}
		}
		slices.SortStableFunc(out, func(x, y Message) int { return cmp.Compare(x.UID, y.UID) })
		// The later of two entries for one UID is the newer.
		dedup := out[:0]
		for i, m := range out {
			if i+1 < len(out) && out[i+1].UID == m.UID {
				continue
			}
			dedup = append(dedup, m)
		}
		out = dedup
	}
	if len(out) < len(msgs) {
		clear(msgs[len(out):]) // let dropped paths and flags go
	}
	return out, true
}

func byUID(m Message, uid uint32) int { return cmp.Compare(m.UID, uid) }

// uidRange copies the messages with first <= UID <= last; nil if none.
func uidRange(msgs []Message, first, last uint32) []Message {
	lo, _ := slices.BinarySearchFunc(msgs, first, byUID)
	hi := lo
	for hi < len(msgs) && msgs[hi].UID <= last {
		hi++
	}
	if hi == lo {
		return nil
	}
	return slices.Clone(msgs[lo:hi])
}

// uidList copies the messages with the given UIDs (any order,
// duplicates allowed) ordered by UID; nil if none.
func uidList(msgs []Message, uids []uint32) []Message {
	want := slices.Clone(uids)
	slices.Sort(want)
	want = slices.Compact(want)
	var out []Message
	for _, u := range want {
		if i, ok := slices.BinarySearchFunc(msgs, u, byUID); ok {
			out = append(out, msgs[i])
		}
	}
	return out
}

// messagePath is dir/rel for an index row's file name: string
// concatenation when rel is "cur/" or "new/" and a plain name (what the
// index holds), filepath.Join otherwise. dir is clean (mailboxDir).
func messagePath(dir, rel string) string {
	if len(rel) > 4 && (strings.HasPrefix(rel, "cur/") || strings.HasPrefix(rel, "new/")) {
		name := rel[4:]
		if name != "." && name != ".." && !strings.Contains(name, "/") {
			return dir + "/" + rel
		}
	}
	return filepath.Join(dir, rel)
}
