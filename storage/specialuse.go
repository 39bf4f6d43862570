package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Special use (RFC 6154). The five default folders carry theirs by name
// (specialFolders); a use a client gives another mailbox with CREATE
// (USE (...)) (CREATE-SPECIAL-USE) is recorded in the Maildir root's
// specialUseFile, one "name<TAB>use" line per mailbox, replaced
// atomically like the subscriptions. It moves with RENAME and goes with
// DELETE; backups copy it with the rest of the Maildir.
const specialUseFile = "yubin-specialuse"

// ErrSpecialUse is returned for a special use Yubin does not support:
// only the uses of real mailboxes (\Archive \Drafts \Junk \Sent \Trash);
// \All and \Flagged name virtual mailboxes, which Yubin does not have.
var ErrSpecialUse = errors.New("special use not supported")

// CanonicalSpecialUse returns use in its canonical spelling, or
// ErrSpecialUse.
func CanonicalSpecialUse(use string) (string, error) {
	for _, f := range specialFolders {
		if strings.EqualFold(f.use, use) {
			return f.use, nil
		}
	}
	return "", fmt.Errorf("%w: %s", ErrSpecialUse, use)
}

// SetSpecialUse records the special use of an existing mailbox ("" clears
// a recorded one; a default folder's use by name stays).
func (a *Account) SetSpecialUse(ctx context.Context, name, use string) error {
	canon, err := validateMailboxName(name)
	if err != nil {
		return fmt.Errorf("special use: %w", err)
	}
	if use != "" {
		if use, err = CanonicalSpecialUse(use); err != nil {
			return err
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dir, err := a.mailboxDir(canon); err != nil {
		return fmt.Errorf("special use: %w", err)
	} else if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
		return fmt.Errorf("special use of %q: %w", canon, ErrNotFound)
	}
	uses, err := a.specialUses()
	if err != nil {
		return err
	}
	if use == "" {
		delete(uses, canon)
	} else {
		uses[canon] = use
	}
	return a.writeSpecialUsesLocked(uses)
}

// specialUses reads the recorded uses (an empty map when there are none).
// The file is replaced atomically, so it can be read without the lock.
func (a *Account) specialUses() (map[string]string, error) {
	uses := map[string]string{}
	b, err := os.ReadFile(filepath.Join(a.dir, specialUseFile))
	if errors.Is(err, os.ErrNotExist) {
		return uses, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read special uses: %w", err)
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		name, use, ok := strings.Cut(string(line), "\t")
		if !ok {
			continue
		}
		canon, err := validateMailboxName(name)
		if err != nil {
			continue
		}
		if use, err := CanonicalSpecialUse(use); err == nil {
			uses[canon] = use
		}
	}
	return uses, nil
}

// writeSpecialUsesLocked replaces the file atomically. The caller holds a.mu.
func (a *Account) writeSpecialUsesLocked(uses map[string]string) error {
	names := make([]string, 0, len(uses))
	for n := range uses {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n + "\t" + uses[n] + "\n")
	}
	p := filepath.Join(a.dir, specialUseFile)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), fileMode); err != nil {
		return fmt.Errorf("write special uses: %w", err)
	}
	if err := a.store.own.fix(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write special uses: %w", err)
	}
	return syncDir(a.dir)
}

// moveSpecialUsesLocked applies a rename (from -> to for each moved
// mailbox, children included) or, with to "", a delete. The caller holds
// a.mu.
func (a *Account) moveSpecialUsesLocked(moves map[string]string) error {
	uses, err := a.specialUses()
	if err != nil || len(uses) == 0 {
		return err
	}
	changed := false
	for from, to := range moves {
		use, ok := uses[from]
		if !ok {
			continue
		}
		delete(uses, from)
		if to != "" {
			uses[to] = use
		}
		changed = true
	}
	if !changed {
		return nil
	}
	return a.writeSpecialUsesLocked(uses)
}

// specialUseOf is a mailbox's special use: the recorded one, else the
// default folder's by name.
func specialUseOf(uses map[string]string, name string) string {
	if u, ok := uses[name]; ok {
		return u
	}
	return specialUse(name)
}
