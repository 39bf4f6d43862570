package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ProblemKind classifies a difference between an account's index and its
// Maildir found by VerifyAccount.
type ProblemKind string

const (
	// MissingFile: the index lists a message whose file is gone.
	MissingFile ProblemKind = "missing-file"
	// UnindexedFile: a message file the index does not list.
	UnindexedFile ProblemKind = "unindexed-file"
	// StaleName: the file exists under another name (flags changed by
	// another tool); the index has the old name.
	StaleName ProblemKind = "stale-name"
	// SizeMismatch: the file is shorter or longer than its ",S=" name
	// part, or the index size is not the file's size as clients see it.
	SizeMismatch ProblemKind = "size-mismatch"
	// UnindexedMailbox: a folder on disk with no index entry.
	UnindexedMailbox ProblemKind = "unindexed-mailbox"
	// StaleMailbox: an index entry for a folder that is gone.
	StaleMailbox ProblemKind = "stale-mailbox"
	// IndexMissing, IndexCorrupt: the index itself.
	IndexMissing ProblemKind = "index-missing"
	IndexCorrupt ProblemKind = "index-corrupt"
)

// Problem is one difference between index and Maildir.
type Problem struct {
	Kind    ProblemKind
	Mailbox string
	UID     uint32 // 0 if the message is not indexed
	File    string // path relative to the mailbox directory
	Detail  string
	// Repairable says whether RepairAccount fixes it. A truncated file
	// (size differs from ",S=") is not: the bytes are gone.
	Repairable bool
}

func (p Problem) String() string {
	s := string(p.Kind) + " " + p.Mailbox
	if p.UID != 0 {
		s += fmt.Sprintf(" uid %d", p.UID)
	}
	if p.File != "" {
		s += " " + p.File
	}
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// VerifyAccount compares user's index with the Maildir without changing
// either (unlike Store.Account, which rescans and so hides differences).
// The index is opened read-only; maild may be running.
func (s *Store) VerifyAccount(ctx context.Context, user Address) ([]Problem, error) {
	if _, err := s.user(ctx, user); err != nil {
		return nil, err
	}
	root, err := s.maildirPath(user)
	if err != nil {
		return nil, err
	}
	return CheckMaildir(ctx, root)
}

// CheckMaildir compares the index in the Maildir root with its folders,
// read-only. It is VerifyAccount for a Maildir outside a data directory
// (a backup).
func CheckMaildir(ctx context.Context, root string) ([]Problem, error) {
	if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
		return nil, nil // no mail yet: the Maildir is made at first use
	}
	idxPath := filepath.Join(root, indexFile)
	if _, err := os.Stat(idxPath); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if n, err := countFiles(root); err != nil || n == 0 {
				return nil, err // no mail yet: the index is made at first use
			}
			return []Problem{{Kind: IndexMissing, Mailbox: Inbox, File: indexFile, Repairable: true}}, nil
		}
		return nil, err
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("_busy_timeout", "5000")
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: idxPath}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil || check != "ok" {
		if err != nil && !isCorrupt(err) {
			return nil, fmt.Errorf("check index %q: %w", idxPath, err)
		}
		return []Problem{{Kind: IndexCorrupt, Mailbox: Inbox, File: indexFile, Detail: fmt.Sprint(check, err), Repairable: true}}, nil
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // one snapshot
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	indexed := map[string]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT name FROM mailboxes`)
	if err != nil {
		return nil, fmt.Errorf("read index %q: %w", idxPath, err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		indexed[n] = true
	}
	rows.Close()

	onDisk, err := diskMailboxes(root)
	if err != nil {
		return nil, err
	}
	var problems []Problem
	for _, name := range sortedKeys(indexed) {
		if !slices.Contains(onDisk, name) {
			problems = append(problems, Problem{Kind: StaleMailbox, Mailbox: name, Repairable: true})
		}
	}
	for _, name := range onDisk {
		rel, _ := mailboxRel(name)
		dir := filepath.Join(root, rel)
		files, err := listMailboxFiles(dir)
		if err != nil {
			return nil, err
		}
		if !indexed[name] {
			if len(files) > 0 {
				problems = append(problems, Problem{Kind: UnindexedMailbox, Mailbox: name, Detail: fmt.Sprintf("%d files", len(files)), Repairable: true})
			}
			continue
		}
		p, err := checkMailbox(ctx, tx, name, dir, files)
		if err != nil {
			return nil, err
		}
		problems = append(problems, p...)
	}
	return problems, nil
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// diskMailboxes lists INBOX and the Maildir++ folders under root that
// have a cur/ directory, as Account.Mailboxes does.
func diskMailboxes(root string) ([]string, error) {
	a := &Account{dir: root}
	boxes, err := a.Mailboxes(context.Background())
	if err != nil {
		return nil, err
	}
	out := make([]string, len(boxes))
	for i, b := range boxes {
		out[i] = b.Name
	}
	return out, nil
}

func checkMailbox(ctx context.Context, tx *sql.Tx, name, dir string, files map[string]diskFile) ([]Problem, error) {
	rows, err := tx.QueryContext(ctx, `SELECT uid, key, filename, size FROM messages WHERE mailbox = ? ORDER BY uid`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []Problem
	seen := map[string]bool{}
	for rows.Next() {
		var uid uint32
		var key, rel string
		var size int64
		if err := rows.Scan(&uid, &key, &rel, &size); err != nil {
			return nil, err
		}
		seen[key] = true
		f, ok := files[key]
		if !ok {
			problems = append(problems, Problem{Kind: MissingFile, Mailbox: name, UID: uid, File: rel, Repairable: true})
			continue
		}
		if f.rel != rel {
			problems = append(problems, Problem{Kind: StaleName, Mailbox: name, UID: uid, File: rel, Detail: "now " + f.rel, Repairable: true})
		}
		path := filepath.Join(dir, f.rel)
		fi, err := os.Stat(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // renamed meanwhile
			}
			return nil, err
		}
		if n, ok := sizeFromName(key); ok && n != fi.Size() {
			problems = append(problems, Problem{Kind: SizeMismatch, Mailbox: name, UID: uid, File: f.rel,
				Detail: fmt.Sprintf("file has %d bytes, its name says %d", fi.Size(), n)})
			continue
		}
		// Read, not statted: a file stored raw by an older Yubin (bare
		// LFs) has its file size in the index, not its canonical size.
		if w, err := wireSize(path); err == nil && w != size {
			problems = append(problems, Problem{Kind: SizeMismatch, Mailbox: name, UID: uid, File: f.rel,
				Detail: fmt.Sprintf("index says %d bytes, the file is %d", size, w), Repairable: true})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var extra []string
	for key, f := range files {
		if !seen[key] {
			extra = append(extra, f.rel)
		}
	}
	slices.Sort(extra)
	for _, rel := range extra {
		problems = append(problems, Problem{Kind: UnindexedFile, Mailbox: name, File: rel, Repairable: true})
	}
	return problems, nil
}

// RepairAccount fixes what a rescan can fix: it rescans every mailbox
// (missing files are dropped from the index, unindexed files get UIDs,
// stale names are updated, a corrupt or missing index is rebuilt), drops
// index entries of folders that are gone, and corrects index sizes.
func (s *Store) RepairAccount(ctx context.Context, user Address) error {
	a, err := s.Account(ctx, user)
	if err != nil {
		return err
	}
	return a.repair(ctx)
}

func (a *Account) repair(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := os.Stat(a.idxPath); errors.Is(err, os.ErrNotExist) {
		return a.rebuildLocked(ctx, false)
	}
	if err := a.rescanAllLocked(ctx); err != nil {
		if isCorrupt(err) {
			return a.rebuildLocked(ctx, true)
		}
		return fmt.Errorf("repair %q: %w", a.addr, err)
	}
	onDisk, err := diskMailboxes(a.dir)
	if err != nil {
		return err
	}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	rows, err := a.idx.QueryContext(ctx, `SELECT name FROM mailboxes`)
	if err != nil {
		return err
	}
	var stale []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		if !slices.Contains(onDisk, n) {
			stale = append(stale, n)
		}
	}
	rows.Close()
	for _, n := range stale {
		if err := forgetMailbox(ctx, a.idx, n); err != nil {
			return err
		}
	}
	return a.fixSizesLocked(ctx, onDisk)
}

// recountSizesLocked brings an index from before sizesVersion to it: it
// reads every message once and corrects the sizes that are not those of
// the one stored form. A failure (a full disk) is logged and leaves the
// version, so the next open tries again; the account opens either way.
// The caller holds a.mu.
func (a *Account) recountSizesLocked(ctx context.Context) {
	var version int
	if err := a.idx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil || version >= sizesVersion {
		return
	}
	boxes, err := diskMailboxes(a.dir)
	if err == nil {
		a.idxMu.RLock()
		err = a.fixSizesLocked(ctx, boxes)
		if err == nil {
			// PRAGMA takes no bound parameters; indexVersion is a
			// constant. The schema is already current (migrateIndex).
			_, err = a.idx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, indexVersion))
		}
		a.idxMu.RUnlock()
	}
	if err != nil {
		a.store.log.Warn("recount message sizes", "user", a.addr.String(), "err", err)
	}
}

// fixSizesLocked sets the index size of every intact file to its wire
// size. The caller holds a.mu and idxMu shared.
func (a *Account) fixSizesLocked(ctx context.Context, boxes []string) error {
	type fix struct {
		mailbox string
		uid     uint32
		size    int64
	}
	var fixes []fix
	for _, name := range boxes {
		rel, _ := mailboxRel(name)
		dir := filepath.Join(a.dir, rel)
		rows, err := a.idx.QueryContext(ctx, `SELECT uid, key, filename, size FROM messages WHERE mailbox = ?`, name)
		if err != nil {
			return err
		}
		for rows.Next() {
			var uid uint32
			var key, frel string
			var size int64
			if err := rows.Scan(&uid, &key, &frel, &size); err != nil {
				rows.Close()
				return err
			}
			path := filepath.Join(dir, frel)
			fi, err := os.Stat(path)
			if err != nil {
				continue
			}
			if n, ok := sizeFromName(key); ok && n != fi.Size() {
				continue // truncated: not fixable
			}
			if w, err := wireSize(path); err == nil && w != size {
				fixes = append(fixes, fix{name, uid, w})
			}
		}
		rows.Close()
	}
	for _, f := range fixes {
		if _, err := a.idx.ExecContext(ctx, `UPDATE messages SET size = ? WHERE mailbox = ? AND uid = ?`, f.size, f.mailbox, f.uid); err != nil {
			return err
		}
	}
	return nil
}

// ReconcileMaildir brings the index in the Maildir root in line with its
// files, as a rescan does, without a Store: backups use it on their copy,
// whose index snapshot and file list were taken at slightly different
// moments while mail kept arriving. Files are only read; the index and
// the UIDVALIDITY file in root are written.
func ReconcileMaildir(ctx context.Context, root string) error {
	idxPath := filepath.Join(root, indexFile)
	s := &Store{log: slog.New(slog.DiscardHandler), hostname: "reconcile"}
	idx, _, err := s.openIndex(idxPath)
	if err != nil {
		return fmt.Errorf("reconcile %q: %w", root, err)
	}
	a := &Account{store: s, dir: root, idxPath: idxPath, stamps: map[string]dirStamp{}}
	if err := a.setIndex(idx); err != nil {
		idx.Close()
		return fmt.Errorf("reconcile %q: %w", root, err)
	}
	defer a.close()
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.rescanAllLocked(ctx); err != nil {
		return fmt.Errorf("reconcile %q: %w", root, err)
	}
	// Checkpoint so the copy is one self-contained file.
	if _, err := idx.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("reconcile %q: %w", root, err)
	}
	return nil
}

// IsIndexFile reports whether name (a base name in a Maildir root) is
// part of Yubin's account index (the database, its WAL and shared
// memory, the UIDVALIDITY file).
func IsIndexFile(name string) bool {
	return strings.HasPrefix(name, indexFile) || strings.HasPrefix(name, uidValidityFile)
}

// IndexFileName is the name of the account index in a Maildir root.
const IndexFileName = indexFile

// countFiles counts the message files in all mailboxes under root.
func countFiles(root string) (int, error) {
	boxes, err := diskMailboxes(root)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range boxes {
		rel, _ := mailboxRel(b)
		files, err := listMailboxFiles(filepath.Join(root, rel))
		if err != nil {
			return 0, err
		}
		n += len(files)
	}
	return n, nil
}
