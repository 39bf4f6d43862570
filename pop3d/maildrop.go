package pop3d

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"

	"yubin/storage"
)

// maildrop is a session's view of the user's INBOX, fixed at login
// (RFC 1939 §5: message numbers do not change during a session). Messages
// delivered later appear in the next session; messages expunged meanwhile
// by IMAP give -ERR when retrieved.
type maildrop struct {
	acct        *storage.Account
	uidValidity uint32
	msgs        []dropMessage // msgs[i] is message number i+1
}

type dropMessage struct {
	uid     uint32
	size    int64 // POP3 size: see message.go
	deleted bool
}

// openMaildrop lists the INBOX of acct and computes each message's size.
func (s *Server) openMaildrop(ctx context.Context, acct *storage.Account) (*maildrop, error) {
	st, err := acct.Status(ctx, storage.Inbox)
	if err != nil {
		return nil, err
	}
	list, err := acct.Messages(ctx, storage.Inbox)
	if err != nil {
		return nil, err
	}
	md := &maildrop{acct: acct, uidValidity: st.UIDValidity, msgs: make([]dropMessage, 0, len(list))}
	for _, m := range list {
		size, err := s.messageSize(ctx, acct, m)
		if err != nil {
			if os.IsNotExist(err) {
				continue // expunged between the listing and now
			}
			return nil, err
		}
		md.msgs = append(md.msgs, dropMessage{uid: m.UID, size: size})
	}
	return md, nil
}

// messageSize returns the POP3 size of m, from the cache when it was
// computed before. A Maildir file's content never changes (flag changes
// only rename it), so the account directory, the unique name and the
// indexed size identify it.
func (s *Server) messageSize(ctx context.Context, acct *storage.Account, m storage.Message) (int64, error) {
	key := acct.Dir() + "\x00" + m.Key + "\x00" + strconv.FormatInt(m.Size, 10)
	if n, ok := s.sizes.get(key); ok {
		return n, nil
	}
	f, _, err := acct.Open(ctx, storage.Inbox, m.UID)
	if err != nil {
		if isNotFound(err) {
			return 0, os.ErrNotExist
		}
		return 0, err
	}
	defer f.Close()
	n, err := normalizedSize(f)
	if err != nil {
		return 0, fmt.Errorf("size of message %d: %w", m.UID, err)
	}
	s.sizes.put(key, n)
	return n, nil
}

// uidl is the unique id of message uid (RFC 1939 §7): "<UIDVALIDITY>.<UID>"
// of the IMAP index, so it is stable across sessions and restarts and
// names the same message IMAP does. If the index is ever rebuilt with a
// new UIDVALIDITY, every id changes and clients download the mailbox
// again, which is safe.
func (md *maildrop) uidl(i int) string {
	return strconv.FormatUint(uint64(md.uidValidity), 10) + "." + strconv.FormatUint(uint64(md.msgs[i].uid), 10)
}

// stat returns the count and total size of the messages not deleted.
func (md *maildrop) stat() (int, int64) {
	n, size := 0, int64(0)
	for _, m := range md.msgs {
		if !m.deleted {
			n++
			size += m.size
		}
	}
	return n, size
}

// deletedUIDs lists the UIDs marked with DELE.
func (md *maildrop) deletedUIDs() []uint32 {
	var uids []uint32
	for _, m := range md.msgs {
		if m.deleted {
			uids = append(uids, m.uid)
		}
	}
	return uids
}

// sizeCache remembers message sizes so a login does not read every file
// again. It holds at most max entries and starts over when full.
type sizeCache struct {
	mu  sync.Mutex
	max int
	m   map[string]int64
}

func newSizeCache(max int) *sizeCache { return &sizeCache{max: max, m: map[string]int64{}} }

func (c *sizeCache) get(k string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.m[k]
	return n, ok
}

func (c *sizeCache) put(k string, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = n
}
