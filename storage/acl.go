package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Access control lists (RFC 4314). Each mailbox of an account has a list
// of (identifier, rights) pairs, kept in the account's index (aclSchema,
// index version 5) and changed in index write transactions, so maild and
// mailctl see one list. The list goes with its mailbox: RenameMailbox
// moves it to the new name (subfolders included), DeleteMailbox drops
// it, and a mailbox created later under the same name starts without
// one (forgetMailbox). Backups copy the index as a whole and keep it.
//
// Identifiers are "anyone" (every authenticated user, RFC 4314 §2) and
// the normalised address of a user of this server. Negative rights
// ("-id", §2) are not supported: SetACL refuses them (ErrACLNegative).
//
// The owner of the account always holds every right (AllRights). That
// is not stored: it is implicit, as RFC 4314 §2 allows ("An
// implementation may force rights to always or never be granted to
// particular identifiers"; its example grants a to the owner). It also
// keeps the owner from locking themselves out of their own mailbox,
// which no later SETACL could repair. SetACL and DeleteACL refuse to take rights from the
// owner (ErrACLOwner); granting the owner what they hold is a no-op.
//
// Rights are stored as a string of the letters of AllRights, each once,
// in that order. The index is derived data: when it is rebuilt (missing
// or corrupt), the lists are lost and only the owner's implicit rights
// remain, which fails closed.

// AllRights are the rights of RFC 4314 §2.1 in the order responses list
// them: lookup, read, seen, write, insert, post, create, delete mailbox,
// delete messages, expunge, administer.
const AllRights = "lrswipkxtea"

// AnyoneIdentifier is RFC 4314's identifier for every user (§2).
const AnyoneIdentifier = "anyone"

// ACL errors. SetACL, DeleteACL and MyRights wrap them.
var (
	// ErrACLIdentifier: the identifier is not "anyone" nor a user of
	// this server, or is a negative-rights identifier.
	ErrACLIdentifier = errors.New("unknown or unsupported ACL identifier")
	// ErrACLNegative: a negative-rights identifier ("-id", RFC 4314
	// §2), which Yubin does not support. It is also an ErrACLIdentifier.
	ErrACLNegative = fmt.Errorf("%w: negative rights are not supported", ErrACLIdentifier)
	// ErrACLOwner: the change would take rights from the owner.
	ErrACLOwner = errors.New("the owner's rights cannot be changed")
	// ErrACLRights: a letter that is not one of AllRights.
	ErrACLRights = errors.New("invalid ACL rights")
)

// ACLMode is how SetACL changes an identifier's rights (RFC 4314 §3.1).
type ACLMode uint8

const (
	// ACLReplace sets the rights to exactly those given ("lr").
	ACLReplace ACLMode = iota
	// ACLAdd adds the rights given ("+lr").
	ACLAdd
	// ACLRemove removes the rights given ("-lr").
	ACLRemove
)

// ACLEntry is one identifier and its rights, letters in AllRights order.
type ACLEntry struct {
	Identifier string
	Rights     string
}

// aclSchema is the ACL table, part of indexSchema and added to older
// indexes by migrateIndex (version 5). Rows are never empty: a change
// that leaves no rights deletes the row.
const aclSchema = `
CREATE TABLE IF NOT EXISTS acl (
	mailbox    TEXT NOT NULL,
	identifier TEXT NOT NULL,           -- "anyone" or a normalised address
	rights     TEXT NOT NULL CHECK (rights <> ''), -- letters of AllRights, in that order
	PRIMARY KEY (mailbox, identifier)
) WITHOUT ROWID;
`

// canonRights checks rights and returns them each once in AllRights
// order.
func canonRights(rights string) (string, error) {
	var have [128]bool
	for i := 0; i < len(rights); i++ {
		c := rights[i]
		if c >= 128 || !strings.ContainsRune(AllRights, rune(c)) {
			return "", fmt.Errorf("%w: %q", ErrACLRights, rights)
		}
		have[c] = true
	}
	var b strings.Builder
	for i := 0; i < len(AllRights); i++ {
		if have[AllRights[i]] {
			b.WriteByte(AllRights[i])
		}
	}
	return b.String(), nil
}

// unionRights returns the rights in a or b, canonical.
func unionRights(a, b string) string {
	r, _ := canonRights(filterRights(a + b))
	return r
}

// filterRights drops letters that are not rights (stored rows only hold
// rights; this keeps a hand-edited row from breaking reads).
func filterRights(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(AllRights, r) {
			return r
		}
		return -1
	}, s)
}

// ACLIdentifier checks identifier as SetACL does and returns its stored
// form ("anyone" or the normalised address) and whether it names the
// owner. ErrACLIdentifier if it is not one SetACL accepts.
func (a *Account) ACLIdentifier(ctx context.Context, identifier string) (string, bool, error) {
	return a.aclIdentifier(ctx, identifier)
}

// aclIdentifier normalises an identifier and reports whether it names
// the owner. "anyone" is case-insensitive (Dovecot, Cyrus); a user is
// checked against the directory.
func (a *Account) aclIdentifier(ctx context.Context, id string) (string, bool, error) {
	if strings.EqualFold(id, AnyoneIdentifier) {
		return AnyoneIdentifier, false, nil
	}
	if strings.HasPrefix(id, "-") {
		return "", false, fmt.Errorf("%w: %q", ErrACLNegative, id)
	}
	addr, err := ParseAddress(id)
	if err != nil {
		return "", false, fmt.Errorf("%w: %q", ErrACLIdentifier, id)
	}
	if addr == a.addr {
		return addr.String(), true, nil
	}
	if a.store.db == nil {
		// An account opened without the directory (ReconcileMaildir).
		return "", false, fmt.Errorf("%w: %q: no directory", ErrACLIdentifier, id)
	}
	if _, err := a.store.user(ctx, addr); err != nil {
		if errors.Is(err, ErrNoSuchUser) {
			return "", false, fmt.Errorf("%w: %q: %w", ErrACLIdentifier, id, err)
		}
		return "", false, err
	}
	return addr.String(), false, nil
}

// aclMailbox checks that mailbox exists and returns its canonical name.
func (a *Account) aclMailbox(ctx context.Context, mailbox string) (string, error) {
	canon, _, err := a.ensureIndexed(ctx, mailbox)
	return canon, err
}

// existsLocked checks again, under a.mu, that the mailbox is there, so a
// DeleteMailbox that ran since aclMailbox leaves no row behind. (A row
// left by another process would be harmless: CreateMailbox and
// RenameMailbox drop the rows of the name they create.)
func (a *Account) existsLocked(canon string) error {
	_, dir, err := a.mailboxDir(canon)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
		return fmt.Errorf("mailbox %q: %w", canon, ErrNotFound)
	}
	return nil
}

// ACL returns the mailbox's access control list (RFC 4314 §3.3): the
// owner with AllRights first, then the stored entries sorted by
// identifier. ErrNotFound if the mailbox does not exist.
func (a *Account) ACL(ctx context.Context, mailbox string) ([]ACLEntry, error) {
	canon, err := a.aclMailbox(ctx, mailbox)
	if err != nil {
		return nil, fmt.Errorf("acl: %w", err)
	}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	rows, err := a.idx.QueryContext(ctx, `SELECT identifier, rights FROM acl WHERE mailbox = ? ORDER BY identifier`, canon)
	if err != nil {
		return nil, fmt.Errorf("acl of %q: %w", canon, err)
	}
	defer rows.Close()
	out := []ACLEntry{{Identifier: a.addr.String(), Rights: AllRights}}
	for rows.Next() {
		var e ACLEntry
		if err := rows.Scan(&e.Identifier, &e.Rights); err != nil {
			return nil, fmt.Errorf("acl of %q: %w", canon, err)
		}
		if e.Identifier == out[0].Identifier {
			continue // never stored; a hand-made row cannot narrow the owner
		}
		if e.Rights = unionRights(e.Rights, ""); e.Rights != "" {
			out = append(out, e)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("acl of %q: %w", canon, err)
	}
	return out, nil
}

// SetACL changes identifier's rights on mailbox (RFC 4314 §3.1) and
// returns the rights it now has. Rights are letters of AllRights (any
// order, repeats allowed); a change that leaves none removes the entry.
// Errors: ErrNotFound (mailbox), ErrACLIdentifier, ErrACLRights,
// ErrACLOwner (a change that would take a right from the owner; adding
// to the owner, or replacing with AllRights, succeeds and changes
// nothing).
func (a *Account) SetACL(ctx context.Context, mailbox, identifier, rights string, mode ACLMode) (string, error) {
	rs, err := canonRights(rights)
	if err != nil {
		return "", fmt.Errorf("set acl: %w", err)
	}
	if mode > ACLRemove {
		return "", fmt.Errorf("set acl: unknown mode %d", mode)
	}
	canon, err := a.aclMailbox(ctx, mailbox)
	if err != nil {
		return "", fmt.Errorf("set acl: %w", err)
	}
	id, owner, err := a.aclIdentifier(ctx, identifier)
	if err != nil {
		return "", fmt.Errorf("set acl on %q: %w", canon, err)
	}
	if owner {
		if mode == ACLAdd || (mode == ACLReplace && rs == AllRights) || (mode == ACLRemove && rs == "") {
			return AllRights, nil
		}
		return "", fmt.Errorf("set acl on %q for %s: %w", canon, id, ErrACLOwner)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.existsLocked(canon); err != nil {
		return "", fmt.Errorf("set acl: %w", err)
	}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	tx, err := a.idx.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("set acl on %q: %w", canon, err)
	}
	defer tx.Rollback()
	var old string
	err = tx.QueryRowContext(ctx, `SELECT rights FROM acl WHERE mailbox = ? AND identifier = ?`, canon, id).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("set acl on %q: %w", canon, err)
	}
	next := rs
	switch mode {
	case ACLAdd:
		next = unionRights(old, rs)
	case ACLRemove:
		next = strings.Map(func(r rune) rune {
			if strings.ContainsRune(rs, r) {
				return -1
			}
			return r
		}, unionRights(old, ""))
	}
	if next == "" {
		_, err = tx.ExecContext(ctx, `DELETE FROM acl WHERE mailbox = ? AND identifier = ?`, canon, id)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO acl (mailbox, identifier, rights) VALUES (?, ?, ?)
			ON CONFLICT (mailbox, identifier) DO UPDATE SET rights = excluded.rights`, canon, id, next)
	}
	if err != nil {
		return "", fmt.Errorf("set acl on %q: %w", canon, err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("set acl on %q: %w", canon, err)
	}
	return next, nil
}

// DeleteACL removes identifier's entry from mailbox's list (RFC 4314
// §3.2). Removing an entry that is not there succeeds. Errors:
// ErrNotFound, ErrACLIdentifier, ErrACLOwner (the owner's implicit
// entry cannot be removed).
func (a *Account) DeleteACL(ctx context.Context, mailbox, identifier string) error {
	canon, err := a.aclMailbox(ctx, mailbox)
	if err != nil {
		return fmt.Errorf("delete acl: %w", err)
	}
	id, owner, err := a.aclIdentifier(ctx, identifier)
	if errors.Is(err, ErrACLIdentifier) && !strings.HasPrefix(identifier, "-") {
		// A user removed from the directory keeps the rows it had: they
		// must still be removable. Negative identifiers stay refused.
		if addr, perr := ParseAddress(identifier); perr == nil {
			id, err = addr.String(), nil
		}
	}
	if err != nil {
		return fmt.Errorf("delete acl on %q: %w", canon, err)
	}
	if owner {
		return fmt.Errorf("delete acl on %q for %s: %w", canon, id, ErrACLOwner)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	if _, err := a.idx.ExecContext(ctx, `DELETE FROM acl WHERE mailbox = ? AND identifier = ?`, canon, id); err != nil {
		return fmt.Errorf("delete acl on %q: %w", canon, err)
	}
	return nil
}

// MyRights returns the rights user holds on mailbox (RFC 4314 §3.5):
// AllRights for the owner, otherwise the union of the "anyone" entry
// and user's own entry ("" when neither exists). ErrNotFound if the
// mailbox does not exist.
func (a *Account) MyRights(ctx context.Context, mailbox string, user Address) (string, error) {
	canon, err := a.aclMailbox(ctx, mailbox)
	if err != nil {
		return "", fmt.Errorf("myrights: %w", err)
	}
	if user == a.addr {
		return AllRights, nil
	}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	rows, err := a.idx.QueryContext(ctx, `SELECT rights FROM acl WHERE mailbox = ? AND identifier IN (?, ?)`,
		canon, AnyoneIdentifier, user.String())
	if err != nil {
		return "", fmt.Errorf("myrights on %q: %w", canon, err)
	}
	defer rows.Close()
	var have string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return "", fmt.Errorf("myrights on %q: %w", canon, err)
		}
		have = unionRights(have, r)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("myrights on %q: %w", canon, err)
	}
	return have, nil
}
