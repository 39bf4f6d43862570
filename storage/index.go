package storage

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
)

// File names in the Maildir root that belong to the index. Neither starts
// with '.', so Maildir++ readers do not take them for folders.
const (
	indexFile       = "yubin-index.db"
	uidValidityFile = "yubin-uidvalidity"
)

const indexSchema = `
CREATE TABLE IF NOT EXISTS mailboxes (
	name        TEXT PRIMARY KEY,          -- IMAP name, "INBOX" for the root
	uidvalidity INTEGER NOT NULL,
	uidnext     INTEGER NOT NULL,
	highestmodseq INTEGER NOT NULL DEFAULT 1, -- RFC 7162 HIGHESTMODSEQ (modseq.go)
	logfloor    INTEGER NOT NULL DEFAULT 1, -- highest MODSEQ no longer in changelog
	recentuid   INTEGER NOT NULL DEFAULT 0 -- UIDs up to here are no longer \Recent (recent.go)
);
CREATE TABLE IF NOT EXISTS messages (
	mailbox       TEXT NOT NULL,
	uid           INTEGER NOT NULL,
	key           TEXT NOT NULL,           -- unique name up to ":2,"
	filename      TEXT NOT NULL,           -- "new/<key>" or "cur/<key>:2,<info>"
	flags         TEXT NOT NULL DEFAULT '',-- space-separated IMAP flags
	internal_date INTEGER NOT NULL,        -- unix nanoseconds
	size          INTEGER NOT NULL,
	modseq        INTEGER NOT NULL DEFAULT 1,-- MODSEQ of the last change
	PRIMARY KEY (mailbox, uid),
	UNIQUE (mailbox, key)
);
` + changelogSchema + usageSchema + aclSchema + `
PRAGMA user_version = 5;
`

// indexVersion is the version of indexSchema: 3 added the change log
// (modseq.go), 4 the \Recent mark (recent.go) and the usage totals
// (quota.go), 5 the access control lists (acl.go); older indexes are
// migrated in place by migrateIndex.
const indexVersion = 5

// sizesVersion is the index version from which every size is the size of
// the one stored form (canonical.go). A version 1 index may hold the file
// size of a message an older Yubin stored raw (bare LFs), or the older
// count of another tool's file (bare CR, no last line end): the first
// open recounts every size once (recountSizesLocked).
const sizesVersion = 2

// isCorrupt reports whether err says the database file is damaged.
func isCorrupt(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB)
}

var errIndexCorrupt = errors.New("index corrupt")

// openIndex opens the account index at path, creating it if missing and
// rebuilding it (an empty index; the caller rescans) if it is corrupt.
// The second result reports whether the index was created afresh.
func (s *Store) openIndex(path string) (*sql.DB, bool, error) {
	db, fresh, err := s.tryOpenIndex(path)
	if err == nil {
		return db, fresh, nil
	}
	if !errors.Is(err, errIndexCorrupt) {
		return nil, false, err
	}
	s.log.Warn("account index corrupt, rebuilding", "path", path, "err", err)
	if err := removeIndexFiles(path); err != nil {
		return nil, false, err
	}
	db, _, err = s.tryOpenIndex(path)
	return db, true, err
}

func removeIndexFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove index: %w", err)
		}
	}
	return nil
}

func (s *Store) tryOpenIndex(path string) (*sql.DB, bool, error) {
	fresh := false
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		fresh = true
		// A WAL left without its database would be applied to the new one.
		if err := removeIndexFiles(path); err != nil {
			return nil, false, err
		}
		if err := s.own.touch(path); err != nil {
			return nil, false, fmt.Errorf("create index: %w", err)
		}
	}
	db, err := openSQLite(path, "NORMAL")
	if err != nil {
		if isCorrupt(err) {
			return nil, false, fmt.Errorf("%w: %w", errIndexCorrupt, err)
		}
		return nil, false, err
	}
	db.SetMaxOpenConns(4)
	var check string
	if err := db.QueryRow(`PRAGMA quick_check`).Scan(&check); err != nil || check != "ok" {
		db.Close()
		if err == nil || isCorrupt(err) {
			return nil, false, fmt.Errorf("%w: quick_check: %s %v", errIndexCorrupt, check, err)
		}
		return nil, false, fmt.Errorf("check index %q: %w", path, err)
	}
	// Only a new index is written to here: an account must open on a
	// full disk (IMAP LOGIN still works there, APPEND answers NO).
	var version int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		db.Close()
		if isCorrupt(err) {
			return nil, false, fmt.Errorf("%w: %w", errIndexCorrupt, err)
		}
		return nil, false, fmt.Errorf("read index version %q: %w", path, err)
	}
	if version < 1 {
		if _, err := db.Exec(indexSchema); err != nil {
			db.Close()
			if isCorrupt(err) {
				return nil, false, fmt.Errorf("%w: %w", errIndexCorrupt, err)
			}
			return nil, false, fmt.Errorf("create index schema %q: %w", path, err)
		}
	} else if version < indexVersion {
		// The one other write at open, once per index.
		if err := migrateIndex(db, version); err != nil {
			db.Close()
			if isCorrupt(err) {
				return nil, false, fmt.Errorf("%w: %w", errIndexCorrupt, err)
			}
			return nil, false, fmt.Errorf("migrate index %q to version %d: %w", path, indexVersion, err)
		}
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := s.own.fix(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			db.Close()
			return nil, false, err
		}
	}
	return db, fresh, nil
}

// nextUIDValidity returns a UIDVALIDITY for a new mailbox: the current
// unix time, or one more than the last value issued for this account if
// that is not smaller. The last value is kept in a file beside the index
// so a rebuilt index never reuses one. Called inside an index write
// transaction, which serialises it across processes.
func (a *Account) nextUIDValidity() (uint32, error) {
	path := filepath.Join(a.dir, uidValidityFile)
	var last uint64
	if b, err := os.ReadFile(path); err == nil {
		last, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	}
	v := uint64(time.Now().Unix())
	if v <= last {
		v = last + 1
	}
	if v > 1<<32-1 {
		v = 1
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatUint(v, 10)+"\n"), fileMode); err != nil {
		return 0, fmt.Errorf("write uidvalidity: %w", err)
	}
	if err := a.store.own.fix(tmp); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, fmt.Errorf("write uidvalidity: %w", err)
	}
	return uint32(v), nil
}

// ensureMailboxRow returns the mailbox's UIDVALIDITY and UIDNEXT,
// creating the row if needed.
func (a *Account) ensureMailboxRow(ctx context.Context, tx *sql.Tx, name string) (uidValidity, uidNext uint32, err error) {
	err = tx.StmtContext(ctx, a.st.mailboxRow).QueryRowContext(ctx, name).Scan(&uidValidity, &uidNext)
	if err == nil {
		return uidValidity, uidNext, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, err
	}
	uidValidity, err = a.nextUIDValidity()
	if err != nil {
		return 0, 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO mailboxes (name, uidvalidity, uidnext) VALUES (?, ?, 1)`, name, uidValidity); err != nil {
		return 0, 0, err
	}
	return uidValidity, 1, nil
}

// diskFile is a message file found in new/ or cur/.
type diskFile struct {
	rel   string // "new/<name>" or "cur/<name>"
	key   string
	flags []string // system flags from the info suffix
}

// listMailboxFiles lists new/ and cur/ of the mailbox directory dir,
// keyed by Maildir key. A key present in both prefers cur/.
func listMailboxFiles(dir string) (map[string]diskFile, error) {
	files := make(map[string]diskFile)
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", filepath.Join(dir, sub), err)
		}
		for _, e := range entries {
			if !isMaildirFile(e) {
				continue
			}
			key, flags, _ := parseInfo(e.Name())
			files[key] = diskFile{rel: sub + "/" + e.Name(), key: key, flags: flags}
		}
	}
	return files, nil
}

// keywords returns the flags that are not system flags.
func keywords(flags []string) []string {
	var out []string
	for _, f := range flags {
		if !slices.ContainsFunc(flagLetters, func(fl flagLetter) bool { return fl.flag == f }) {
			out = append(out, f)
		}
	}
	return out
}

func joinFlags(flags []string) string { return strings.Join(flags, " ") }

func splitFlags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// rescanLocked brings the index of one mailbox in line with its files.
// The caller holds a.mu.
func (a *Account) rescanLocked(ctx context.Context, name string) error {
	rel, err := mailboxRel(name)
	if err != nil {
		return err
	}
	name, _ = validateMailboxName(name)
	dir := filepath.Join(a.dir, rel)
	if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("mailbox %q: %w", name, ErrNotFound)
		}
		return err
	}
	// Stamp before listing: a change during the listing shows up as a
	// newer stamp at the next Refresh.
	stamp, stampErr := readStamp(dir)
	files, err := listMailboxFiles(dir)
	if err != nil {
		return err
	}
	var changes []Change

	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	tx, err := a.idx.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, uidNext, err := a.ensureMailboxRow(ctx, tx, name)
	if err != nil {
		return err
	}
	type row struct {
		uid      uint32
		filename string
		flags    string
		date     int64
		size     int64
		modseq   uint64
	}
	indexed := make(map[string]row)
	rows, err := tx.QueryContext(ctx, `SELECT uid, key, filename, flags, internal_date, size, modseq FROM messages WHERE mailbox = ?`, name)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r row
		var key string
		if err := rows.Scan(&r.uid, &key, &r.filename, &r.flags, &r.date, &r.size, &r.modseq); err != nil {
			rows.Close()
			return err
		}
		indexed[key] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	// Expunges first, in UID order, then flags, then additions in UID
	// order: the order an observer can apply them in, and the MODSEQ
	// order of the change log.
	type update struct {
		uid   uint32
		key   string
		rel   string
		flags []string
		r     row
	}
	var gone []uint32
	var moved []update
	for key, r := range indexed {
		f, ok := files[key]
		if !ok {
			gone = append(gone, r.uid)
			continue
		}
		if f.rel != r.filename {
			flags, _ := normalizeFlags(append(f.flags, keywords(splitFlags(r.flags))...))
			moved = append(moved, update{uid: r.uid, key: key, rel: f.rel, flags: flags, r: r})
		}
	}
	slices.Sort(gone)
	slices.SortFunc(moved, func(x, y update) int { return cmp.Compare(x.uid, y.uid) })
	limit := a.logLimit()
	for _, uid := range gone {
		if _, err := tx.StmtContext(ctx, a.st.deleteMessage).ExecContext(ctx, name, uid); err != nil {
			return err
		}
		modseq, err := a.st.logChange(ctx, tx, name, uid, kindExpunge, limit)
		if err != nil {
			return err
		}
		changes = append(changes, Change{Mailbox: name, Kind: MessageExpunged, UID: uid, ModSeq: modseq})
	}
	for _, u := range moved {
		modseq := u.r.modseq
		changed := joinFlags(u.flags) != u.r.flags
		if changed {
			if modseq, err = a.st.logChange(ctx, tx, name, u.uid, kindFlags, limit); err != nil {
				return err
			}
		}
		if _, err := tx.StmtContext(ctx, a.st.updateFlags).ExecContext(ctx, u.rel, joinFlags(u.flags), modseq, name, u.uid); err != nil {
			return err
		}
		if changed {
			m := Message{UID: u.uid, Key: u.key, Flags: u.flags, InternalDate: time.Unix(0, u.r.date), Size: u.r.size,
				Path: messagePath(dir, u.rel), ModSeq: modseq}
			changes = append(changes, Change{Mailbox: name, Kind: MessageFlags, UID: u.uid, ModSeq: modseq, Flags: u.flags, Message: m})
		}
	}

	var todo []diskFile
	for key, f := range files {
		if _, ok := indexed[key]; !ok {
			todo = append(todo, f)
		}
	}
	added, err := examineNew(dir, todo)
	if err != nil {
		return err
	}
	slices.SortFunc(added, func(x, y newFile) int {
		if c := x.date.Compare(y.date); c != 0 {
			return c
		}
		return strings.Compare(x.key, y.key)
	})
	insert := tx.StmtContext(ctx, a.st.insertMessage)
	for _, f := range added {
		flags, _ := normalizeFlags(f.flags)
		modseq, err := a.st.logChange(ctx, tx, name, uidNext, kindNew, limit)
		if err != nil {
			return err
		}
		if _, err := insert.ExecContext(ctx, name, uidNext, f.key, f.rel, joinFlags(flags), f.date.UnixNano(), f.size, modseq); err != nil {
			return err
		}
		m := Message{UID: uidNext, Key: f.key, Flags: flags, InternalDate: time.Unix(0, f.date.UnixNano()), Size: f.size,
			Path: messagePath(dir, f.rel), ModSeq: modseq}
		changes = append(changes, Change{Mailbox: name, Kind: MessageAdded, UID: uidNext, ModSeq: modseq, Flags: flags, Message: m})
		uidNext++
	}
	if len(added) > 0 {
		if _, err := tx.StmtContext(ctx, a.st.setUIDNext).ExecContext(ctx, uidNext, name); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if stampErr == nil {
		a.stamps[name] = stamp
	}
	if len(moved) > 0 {
		// A file moved without a flag change takes no MODSEQ: only
		// Message.Path differs, so the snapshot cannot learn it from
		// the log. (Another process's such moves leave a stale Path
		// there; OpenMessage falls back to Open by UID.)
		a.dropSnapshot(name)
	}
	for _, c := range changes {
		a.notify(ctx, c)
	}
	return nil
}

// newFile is a file rescanLocked is about to index.
type newFile struct {
	diskFile
	date time.Time
	size int64
}

// examineNew finds the internal date and wire size of files not yet
// indexed. Counting a size reads the whole file, so a mailbox another
// tool filled is read by one goroutine per CPU. Files gone meanwhile
// are left out (the next rescan sees them).
func examineNew(dir string, todo []diskFile) ([]newFile, error) {
	out := make([]newFile, len(todo))
	keep := make([]bool, len(todo))
	errs := make([]error, len(todo))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), 8, len(todo)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(todo) {
					return
				}
				out[i], keep[i], errs[i] = examineFile(dir, todo[i])
			}
		})
	}
	wg.Wait()
	added := out[:0]
	for i := range out {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if keep[i] {
			added = append(added, out[i])
		}
	}
	return added, nil
}

func examineFile(dir string, f diskFile) (newFile, bool, error) {
	path := filepath.Join(dir, f.rel)
	nf := newFile{diskFile: f}
	// The size clients see: with CRLF line ends. A file from another
	// tool may use bare LFs, so ",S=" is not trusted.
	size, sizeErr := wireSize(path)
	if errors.Is(sizeErr, os.ErrNotExist) {
		return nf, false, nil
	}
	nf.size = size
	date, dated := timeFromName(f.key)
	nf.date = date
	if sizeErr != nil || !dated {
		// Only now the inode: most names carry their time.
		fi, err := os.Stat(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nf, false, nil
			}
			return nf, false, err
		}
		if !dated {
			nf.date = fi.ModTime()
		}
		if sizeErr != nil {
			nf.size = fi.Size()
			if n, ok := sizeFromName(f.key); ok {
				nf.size = n
			}
		}
	}
	return nf, true, nil
}
