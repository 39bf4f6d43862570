package storage

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ValidMailboxName checks an IMAP mailbox name ("/" separates levels) and
// returns its canonical form ("INBOX" in any case becomes "INBOX").
func ValidMailboxName(name string) (string, error) { return validateMailboxName(name) }

// Message returns one indexed message. ErrNotFound if absent.
func (a *Account) Message(ctx context.Context, mailbox string, uid uint32) (Message, error) {
	canon, dir, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return Message{}, err
	}
	m, _, err := a.message(ctx, canon, dir, uid)
	return m, err
}

// DeleteMailbox removes a folder and its messages. Subfolders stay (they
// are separate Maildir++ folders). INBOX cannot be deleted. The folder is
// first renamed out of the way, so a crash never leaves half a folder
// under its name. Its index row, messages, change log and access
// control list (acl.go) go in one transaction: a session that had it
// selected gets ErrNotFound from its next Poll or Changes (and ends the
// selection), and a folder created
// under the name later gets a new UIDVALIDITY and a new log, so no
// client can mistake one for the other (RFC 3501 §2.3.1.1). A
// subscription to the name stays (RFC 3501 §6.3.6).
func (a *Account) DeleteMailbox(ctx context.Context, name string) error {
	canon, dir, err := a.mailboxDir(name)
	if err != nil {
		return fmt.Errorf("delete mailbox: %w", err)
	}
	if canon == Inbox {
		return fmt.Errorf("delete mailbox %q: INBOX cannot be deleted", canon)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
		return fmt.Errorf("delete mailbox %q: %w", canon, ErrNotFound)
	}
	trash := filepath.Join(a.dir, "..deleted-"+filepath.Base(dir)[1:])
	os.RemoveAll(trash)
	if err := os.Rename(dir, trash); err != nil {
		return fmt.Errorf("delete mailbox %q: %w", canon, err)
	}
	if err := syncDir(a.dir); err != nil {
		return fmt.Errorf("delete mailbox %q: %w", canon, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		a.store.log.Warn("remove deleted mailbox", "user", a.addr.String(), "mailbox", canon, "err", err)
	}
	a.idxMu.RLock()
	err = forgetMailbox(ctx, a.idx, canon)
	a.idxMu.RUnlock()
	delete(a.stamps, canon)
	a.dropSnapshot(canon)
	if err != nil {
		return fmt.Errorf("delete mailbox %q: %w", canon, err)
	}
	if err := a.moveSpecialUsesLocked(map[string]string{canon: ""}); err != nil {
		return fmt.Errorf("delete mailbox %q: %w", canon, err)
	}
	// The subscription stays: RFC 3501 §6.3.6, the server must not
	// remove a name from the subscription list because its mailbox is
	// gone (LSUB lists it, LIST-EXTENDED marks it \NonExistent, RFC
	// 5258 §3).
	return nil
}

// RenameMailbox renames a folder and its subfolders, keeping UIDs and
// UIDVALIDITY. Renaming INBOX moves its messages into a new folder and
// leaves INBOX empty (RFC 3501 §6.3.5).
//
// The change log goes with the folder: the renamed mailbox keeps its
// rows, HIGHESTMODSEQ, log floor and \Recent mark under the new name,
// in the transaction that renames the rows. That is what UIDVALIDITY
// allows (RFC 3501 §6.3.5 keeps it, as the UIDs do), and a client that
// QRESYNCs the new name with the UIDVALIDITY and MODSEQ it knew from the
// old gets exactly the changes since. A session that had the old name
// selected gets ErrNotFound from its next Poll. The access control list
// (acl.go) moves with the rows. Rows of an earlier folder left under
// the new name are dropped first. Subscriptions to the old names move
// to the new ones.
func (a *Account) RenameMailbox(ctx context.Context, from, to string) error {
	src, srcDir, err := a.mailboxDir(from)
	if err != nil {
		return fmt.Errorf("rename mailbox: %w", err)
	}
	dst, dstDir, err := a.mailboxDir(to)
	if err != nil {
		return fmt.Errorf("rename mailbox: %w", err)
	}
	if dst == Inbox {
		return fmt.Errorf("rename mailbox to INBOX: %w", ErrExists)
	}
	// Snapshots of the names involved (subfolders too) go; they are
	// derived data and reload at the next read.
	defer a.dropSnapshots()
	if src == Inbox {
		return a.renameInbox(ctx, dst)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := os.Stat(filepath.Join(srcDir, "cur")); err != nil {
		return fmt.Errorf("rename mailbox %q: %w", src, ErrNotFound)
	}
	if _, err := os.Stat(dstDir); err == nil {
		return fmt.Errorf("rename mailbox to %q: %w", dst, ErrExists)
	}
	// The folder and every subfolder: ".A" and ".A.*" move to ".B" and ".B.*".
	srcBase, dstBase := filepath.Base(srcDir), filepath.Base(dstDir)
	entries, err := os.ReadDir(a.dir)
	if err != nil {
		return fmt.Errorf("rename mailbox %q: %w", src, err)
	}
	type move struct{ from, to, fromName, toName string }
	var moves []move
	for _, e := range entries {
		n := e.Name()
		if n != srcBase && !strings.HasPrefix(n, srcBase+".") {
			continue
		}
		tn := dstBase + n[len(srcBase):]
		if _, err := os.Stat(filepath.Join(a.dir, tn)); err == nil {
			return fmt.Errorf("rename mailbox to %q: %w", dst, ErrExists)
		}
		fromName := strings.ReplaceAll(n[1:], ".", "/")
		toName := strings.ReplaceAll(tn[1:], ".", "/")
		moves = append(moves, move{n, tn, fromName, toName})
	}
	for _, m := range moves {
		if err := os.Rename(filepath.Join(a.dir, m.from), filepath.Join(a.dir, m.to)); err != nil {
			return fmt.Errorf("rename mailbox %q: %w", m.fromName, err)
		}
	}
	if err := syncDir(a.dir); err != nil {
		return fmt.Errorf("rename mailbox %q: %w", src, err)
	}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	tx, err := a.idx.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("rename mailbox %q: %w", src, err)
	}
	defer tx.Rollback()
	for _, m := range moves {
		for _, q := range []string{`DELETE FROM messages WHERE mailbox = ?2`, `DELETE FROM mailboxes WHERE name = ?2`,
			`DELETE FROM changelog WHERE mailbox = ?2`, `DELETE FROM acl WHERE mailbox = ?2`,
			`UPDATE mailboxes SET name = ?2 WHERE name = ?1`, `UPDATE messages SET mailbox = ?2 WHERE mailbox = ?1`,
			`UPDATE changelog SET mailbox = ?2 WHERE mailbox = ?1`, `UPDATE acl SET mailbox = ?2 WHERE mailbox = ?1`} {
			if _, err := tx.ExecContext(ctx, q, m.fromName, m.toName); err != nil {
				return fmt.Errorf("rename mailbox %q: %w", m.fromName, err)
			}
		}
		delete(a.stamps, m.fromName)
		delete(a.stamps, m.toName)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("rename mailbox %q: %w", src, err)
	}
	renamed := map[string]string{}
	for _, m := range moves {
		renamed[m.fromName] = m.toName
	}
	if err := a.moveSpecialUsesLocked(renamed); err != nil {
		return fmt.Errorf("rename mailbox %q: %w", src, err)
	}
	subs, err := a.subscriptionsLocked()
	if err != nil {
		return err
	}
	changed := false
	for i, s := range subs {
		for _, m := range moves {
			if s == m.fromName {
				subs[i], changed = m.toName, true
			}
		}
	}
	if changed {
		return a.writeSubscriptionsLocked(subs)
	}
	return nil
}

// renameInbox moves every INBOX message into a new folder dst.
func (a *Account) renameInbox(ctx context.Context, dst string) error {
	if err := a.CreateMailbox(ctx, dst); err != nil {
		return fmt.Errorf("rename INBOX: %w", err)
	}
	msgs, err := a.Messages(ctx, Inbox)
	if err != nil {
		return fmt.Errorf("rename INBOX: %w", err)
	}
	uids := make([]uint32, len(msgs))
	for i, m := range msgs {
		uids[i] = m.UID
	}
	if _, err := a.Copy(ctx, Inbox, uids, dst); err != nil {
		return fmt.Errorf("rename INBOX: %w", err)
	}
	return a.Expunge(ctx, Inbox, uids)
}

// Copy copies messages (with flags and internal date) into dst and
// returns the new UIDs in the order of uids. Messages that no longer exist
// are skipped (their new UID is 0).
func (a *Account) Copy(ctx context.Context, src string, uids []uint32, dst string) ([]uint32, error) {
	out := make([]uint32, len(uids))
	for i, uid := range uids {
		f, m, err := a.Open(ctx, src, uid)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("copy: %w", err)
		}
		nm, err := a.Deliver(ctx, dst, bufio.NewReaderSize(f, 64<<10), DeliverOptions{Flags: m.Flags, InternalDate: m.InternalDate})
		f.Close()
		if err != nil {
			return out, fmt.Errorf("copy: %w", err)
		}
		out[i] = nm.UID
	}
	return out, nil
}

// subscriptionsFile lists subscribed folders, one per line, as Dovecot
// and Courier keep it in the Maildir root.
const subscriptionsFile = "subscriptions"

// Subscriptions returns the subscribed mailboxes. An account that never
// changed its subscriptions is subscribed to every existing mailbox.
func (a *Account) Subscriptions(ctx context.Context) ([]string, error) {
	a.mu.Lock()
	subs, err := a.subscriptionsLocked()
	a.mu.Unlock()
	if subs != nil || err != nil {
		return subs, err
	}
	boxes, err := a.Mailboxes(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range boxes {
		subs = append(subs, b.Name)
	}
	return subs, nil
}

// SetSubscribed subscribes to or unsubscribes from a mailbox name (which
// need not exist, as IMAP allows).
func (a *Account) SetSubscribed(ctx context.Context, name string, on bool) error {
	canon, err := validateMailboxName(name)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := os.Stat(filepath.Join(a.dir, subscriptionsFile)); errors.Is(err, os.ErrNotExist) {
		// First change: start from the implicit "everything" list.
		boxes, err := a.Mailboxes(ctx)
		if err != nil {
			return err
		}
		var all []string
		for _, b := range boxes {
			all = append(all, b.Name)
		}
		if err := a.writeSubscriptionsLocked(all); err != nil {
			return err
		}
	}
	return a.setSubscribedLocked(canon, on)
}

func (a *Account) setSubscribedLocked(name string, on bool) error {
	subs, err := a.subscriptionsLocked()
	if err != nil || subs == nil {
		return err
	}
	i := slices.Index(subs, name)
	switch {
	case on && i < 0:
		subs = append(subs, name)
	case !on && i >= 0:
		subs = slices.Delete(subs, i, i+1)
	default:
		return nil
	}
	return a.writeSubscriptionsLocked(subs)
}

// subscriptionsLocked reads the file; nil (no error) when there is none.
func (a *Account) subscriptionsLocked() ([]string, error) {
	b, err := os.ReadFile(filepath.Join(a.dir, subscriptionsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read subscriptions: %w", err)
	}
	subs := []string{}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		// Dovecot's version 2 format starts with "V\t2" and a blank line.
		if s := string(bytes.TrimSpace(line)); s != "" && !strings.HasPrefix(s, "V\t") {
			if canon, err := validateMailboxName(strings.ReplaceAll(s, ".", "/")); err == nil {
				subs = append(subs, canon)
			}
		}
	}
	return subs, nil
}

// writeSubscriptionsLocked replaces the file atomically.
func (a *Account) writeSubscriptionsLocked(subs []string) error {
	slices.Sort(subs)
	subs = slices.Compact(subs)
	var b strings.Builder
	for _, s := range subs {
		// On disk with the Maildir++ separator, as Dovecot writes it.
		b.WriteString(strings.ReplaceAll(s, "/", "."))
		b.WriteByte('\n')
	}
	p := filepath.Join(a.dir, subscriptionsFile)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), fileMode); err != nil {
		return fmt.Errorf("write subscriptions: %w", err)
	}
	if err := a.store.own.fix(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write subscriptions: %w", err)
	}
	return syncDir(a.dir)
}
