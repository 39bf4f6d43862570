package imapd

import "sync"

// notifier wakes sessions when a mailbox changes. It carries no data:
// sessions read what changed from storage's change log.
type notifier struct {
	mu      sync.Mutex
	waiters map[boxKey]chan struct{}
}

// boxKey names one mailbox of one user.
type boxKey struct{ user, name string }

func newNotifier() *notifier { return &notifier{waiters: map[boxKey]chan struct{}{}} }

// wait returns a channel closed at the next change of the mailbox. Taken
// before reading the change log, it cannot miss a change: one made before
// the read is in the log, one made after closes the channel.
func (n *notifier) wait(user, mailbox string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := boxKey{user, mailbox}
	ch := n.waiters[k]
	if ch == nil {
		ch = make(chan struct{})
		n.waiters[k] = ch
	}
	return ch
}

// changed wakes the waiters of a mailbox.
func (n *notifier) changed(user, mailbox string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := boxKey{user, mailbox}
	if ch := n.waiters[k]; ch != nil {
		close(ch)
		delete(n.waiters, k)
	}
}
