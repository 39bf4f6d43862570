package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"yubin/storage"
)

// Options configures Backup.
type Options struct {
	// DataDir is the live data directory; Dir the backup directory
	// (created if missing; updated incrementally if it holds a backup).
	DataDir, Dir string
	// Copy never hard-links, even on the same file system.
	Copy bool
	// Log receives one line per account; nil discards.
	Log io.Writer
}

// Report says what a backup or restore did.
type Report struct {
	Files    int   // files in the backup
	Bytes    int64 // their total size
	Copied   int   // files copied now
	Linked   int   // files hard-linked now
	Reused   int   // files kept from the earlier backup
	Removed  int   // files of the earlier backup no longer in the data directory
	Accounts int
	Elapsed  time.Duration
}

func (r Report) String() string {
	return fmt.Sprintf("%d accounts, %d files, %.1f MB: %d copied, %d hard-linked, %d kept from the last backup, %d removed, in %s",
		r.Accounts, r.Files, float64(r.Bytes)/1e6, r.Copied, r.Linked, r.Reused, r.Removed, r.Elapsed.Round(time.Millisecond))
}

type backupJob struct {
	Options
	ctx      context.Context
	old      map[string]Entry // previous manifest by path
	oldKeys  map[string]Entry // previous message entries by dir + key
	man      *Manifest
	rep      Report
	noLink   bool
	inBackup map[string]bool
}

// Backup takes a consistent online snapshot of the data directory into
// Dir; see the package comment.
func Backup(ctx context.Context, opts Options) (Report, error) {
	start := time.Now()
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	data, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return Report{}, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return Report{}, err
	}
	if dir == data || strings.HasPrefix(dir, data+string(filepath.Separator)) {
		return Report{}, fmt.Errorf("backup directory %s is inside the data directory", dir)
	}
	if _, err := os.Stat(filepath.Join(data, "yubin.db")); err != nil {
		return Report{}, fmt.Errorf("%s is not a Yubin data directory: %w", data, err)
	}
	opts.DataDir, opts.Dir = data, dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Report{}, err
	}
	host, _ := os.Hostname()
	j := &backupJob{Options: opts, ctx: ctx, old: map[string]Entry{}, oldKeys: map[string]Entry{}, noLink: opts.Copy,
		man: &Manifest{Format: formatV1, Created: start.UTC(), Host: host, DataDir: data}, inBackup: map[string]bool{}}
	if old, err := readManifest(dir); err == nil {
		for _, e := range old.Files {
			j.old[e.Path] = e
			if e.Kind == kindMessage {
				j.oldKeys[messageKey(e.Path)] = e
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return Report{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, markerName), []byte(start.UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return Report{}, err
	}
	if err := j.run(); err != nil {
		return j.rep, err
	}
	// Make every copied byte durable before the manifest says it exists.
	syscall.Sync()
	j.man.Finished = time.Now().UTC()
	if err := writeManifest(dir, j.man); err != nil {
		return j.rep, err
	}
	if err := os.Remove(filepath.Join(dir, markerName)); err != nil {
		return j.rep, err
	}
	syncDir(dir)
	j.rep.Elapsed = time.Since(start)
	return j.rep, nil
}

// messageKey identifies a message file across flag changes: its
// directory and Maildir key (the name up to ":2,").
func messageKey(p string) string {
	d, name := path.Split(p)
	key, _, _ := strings.Cut(name, ":2,")
	if strings.HasSuffix(d, "/cur/") || strings.HasSuffix(d, "/new/") {
		d = d[:len(d)-4]
	}
	return d + key
}

func (j *backupJob) run() error {
	// Order matters: see the package comment.
	if err := j.db("yubin.db"); err != nil {
		return err
	}
	j.man.Schema, _ = schemaVersion(j.ctx, filepath.Join(j.Dir, "yubin.db"))
	if _, err := os.Stat(filepath.Join(j.DataDir, "queue", "queue.db")); err == nil {
		if err := j.mkdir("queue"); err != nil {
			return err
		}
		if err := j.db("queue/queue.db"); err != nil {
			return err
		}
		if err := j.tree("queue/spool", kindMessage); err != nil {
			return err
		}
		if err := j.mkdir("queue/tmp"); err != nil {
			return err
		}
	}
	if err := j.mail(); err != nil {
		return err
	}
	if err := j.rest(); err != nil {
		return err
	}
	return j.prune()
}

// rel2abs returns the live and backup paths of rel.
func (j *backupJob) paths(rel string) (string, string) {
	return filepath.Join(j.DataDir, filepath.FromSlash(rel)), filepath.Join(j.Dir, filepath.FromSlash(rel))
}

func (j *backupJob) add(e Entry) {
	j.man.Files = append(j.man.Files, e)
	j.inBackup[e.Path] = true
	if e.Kind != kindDir {
		j.rep.Files++
		j.rep.Bytes += e.Size
	}
}

func (j *backupJob) mkdir(rel string) error {
	src, dst := j.paths(rel)
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	j.add(Entry{Path: rel, Kind: kindDir, Mode: fi.Mode().Perm()})
	return nil
}

// db copies one SQLite database with the online backup API.
func (j *backupJob) db(rel string) error {
	src, dst := j.paths(rel)
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := copyDB(j.ctx, src, dst); err != nil {
		return err
	}
	return j.addHashed(rel, kindDB, fi.Mode().Perm())
}

// addHashed adds the backup's copy of rel with its checksum.
func (j *backupJob) addHashed(rel, kind string, mode fs.FileMode) error {
	_, dst := j.paths(rel)
	sum, size, err := hashFile(dst)
	if err != nil {
		return err
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return err
	}
	j.add(Entry{Path: rel, Kind: kind, Mode: mode, Size: size, MTime: fi.ModTime().UnixNano(), SHA256: sum})
	return nil
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// tree backs up a directory of files of one kind (no subdirectories).
func (j *backupJob) tree(rel, kind string) error {
	if err := j.mkdir(rel); err != nil {
		return err
	}
	src, _ := j.paths(rel)
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if err := j.file(path.Join(rel, e.Name()), kind); err != nil {
			return err
		}
	}
	return nil
}

// file backs up one regular file. A file that vanished meanwhile (an
// expunge, a queue entry done) is skipped.
func (j *backupJob) file(rel, kind string) error {
	if err := j.ctx.Err(); err != nil {
		return err
	}
	src, dst := j.paths(rel)
	fi, err := os.Stat(src)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	e := Entry{Path: rel, Kind: kind, Mode: fi.Mode().Perm(), Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
	if kind == kindMessage {
		if old, ok := j.oldKeys[messageKey(rel)]; ok && old.Size == fi.Size() {
			_, oldDst := j.paths(old.Path)
			if ofi, err := os.Stat(oldDst); err == nil && ofi.Size() == old.Size {
				if old.Path != rel {
					if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
						return err
					}
					if err := os.Rename(oldDst, dst); err != nil {
						return err
					}
					delete(j.oldKeys, messageKey(rel))
				}
				e.SHA256 = old.SHA256
				j.rep.Reused++
				j.add(e)
				return nil
			}
		}
	}
	if old, ok := j.old[rel]; ok && kind == kindFile && old.Size == fi.Size() && old.MTime == e.MTime {
		// Unchanged since the last backup (size and mtime, as rsync).
		if ofi, err := os.Stat(dst); err == nil && ofi.Size() == old.Size {
			e.SHA256 = old.SHA256
			j.rep.Reused++
			j.add(e)
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	os.Remove(dst)
	if kind == kindMessage && !j.noLink {
		err := os.Link(src, dst)
		if err == nil {
			sum, _, err := hashFile(dst)
			if err != nil {
				return err
			}
			e.SHA256 = sum
			j.rep.Linked++
			j.add(e)
			return nil
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		// Another file system (EXDEV) or links not allowed: copy from now on.
		j.noLink = true
	}
	sum, err := copyFile(src, dst, fi)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	e.SHA256 = sum
	j.rep.Copied++
	j.add(e)
	return nil
}

// copyFile copies src to dst (mode and mtime kept) and returns the
// SHA-256 of the bytes copied.
func copyFile(src, dst string, fi fs.FileInfo) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(dst, fi.ModTime(), fi.ModTime())
	}
	if err != nil {
		os.Remove(dst)
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// mail backs up every account: index first, then files, then the copy
// of the index is reconciled with the copied files.
func (j *backupJob) mail() error {
	if err := j.mkdir("mail"); err != nil {
		return err
	}
	domains, err := os.ReadDir(filepath.Join(j.DataDir, "mail"))
	if err != nil {
		return err
	}
	for _, d := range domains {
		if !d.IsDir() {
			continue
		}
		drel := "mail/" + d.Name()
		if err := j.mkdir(drel); err != nil {
			return err
		}
		users, err := os.ReadDir(filepath.Join(j.DataDir, "mail", d.Name()))
		if err != nil {
			return err
		}
		for _, u := range users {
			if !u.IsDir() {
				continue
			}
			if err := j.account(drel + "/" + u.Name()); err != nil {
				return fmt.Errorf("back up %s: %w", u.Name()+"@"+d.Name(), err)
			}
		}
	}
	return nil
}

func (j *backupJob) account(rel string) error {
	start := time.Now()
	j.rep.Accounts++
	before := j.rep.Files
	if err := j.mkdir(rel); err != nil {
		return err
	}
	src, dst := j.paths(rel)
	idx := path.Join(rel, storage.IndexFileName)
	hasIndex := false
	if _, err := os.Stat(filepath.Join(src, storage.IndexFileName)); err == nil {
		hasIndex = true
		if err := copyDB(j.ctx, filepath.Join(src, storage.IndexFileName), filepath.Join(dst, storage.IndexFileName)); err != nil {
			return err
		}
	}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil // a folder deleted meanwhile
			}
			return err
		}
		r, _ := filepath.Rel(j.DataDir, p)
		r = filepath.ToSlash(r)
		name := d.Name()
		if d.IsDir() {
			if p == src {
				return nil
			}
			if strings.HasPrefix(name, "..") {
				return filepath.SkipDir // a folder being deleted
			}
			if err := j.mkdir(r); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			if name == "tmp" {
				return filepath.SkipDir // never acknowledged
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		parent := filepath.Base(filepath.Dir(p))
		switch {
		case filepath.Dir(p) == src && storage.IsIndexFile(name):
			return nil // the index is copied above, uidvalidity below
		case parent == "cur" || parent == "new":
			return j.file(r, kindMessage)
		default:
			return j.file(r, kindFile)
		}
	})
	if err != nil {
		return err
	}
	// UIDVALIDITY file: copied after the index, so it is never older.
	uv := "yubin-uidvalidity"
	if _, err := os.Stat(filepath.Join(src, uv)); err == nil {
		if err := j.file(path.Join(rel, uv), kindFile); err != nil {
			return err
		}
	}
	if hasIndex {
		if err := storage.ReconcileMaildir(j.ctx, dst); err != nil {
			return err
		}
		if err := j.addHashed(idx, kindDB, 0o600); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(dst, uv)); err == nil && !j.inBackup[path.Join(rel, uv)] {
			if err := j.addHashed(path.Join(rel, uv), kindFile, 0o600); err != nil {
				return err
			}
		} else if err == nil {
			// Reconciling may have issued a UIDVALIDITY: re-hash.
			j.replace(path.Join(rel, uv))
		}
	}
	fmt.Fprintf(j.Log, "%s: %d files in %s\n", strings.TrimPrefix(rel, "mail/"), j.rep.Files-before, time.Since(start).Round(time.Millisecond))
	return nil
}

// replace re-hashes an entry already added (its backup copy changed).
func (j *backupJob) replace(rel string) {
	i := slices.IndexFunc(j.man.Files, func(e Entry) bool { return e.Path == rel })
	if i < 0 {
		return
	}
	_, dst := j.paths(rel)
	if sum, size, err := hashFile(dst); err == nil {
		j.rep.Bytes += size - j.man.Files[i].Size
		j.man.Files[i].SHA256, j.man.Files[i].Size = sum, size
	}
}

// rest copies everything else in the data directory (tls/, config
// files), skipping SQLite side files and what was handled above.
func (j *backupJob) rest() error {
	return filepath.WalkDir(j.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		r, _ := filepath.Rel(j.DataDir, p)
		r = filepath.ToSlash(r)
		if r == "." {
			return nil
		}
		if d.IsDir() {
			if r == "mail" || r == "queue" {
				return filepath.SkipDir
			}
			return j.mkdir(r)
		}
		base := d.Name()
		if !d.Type().IsRegular() || j.inBackup[r] || strings.HasSuffix(base, "-wal") || strings.HasSuffix(base, "-shm") || strings.HasSuffix(base, "-journal") {
			return nil
		}
		return j.file(r, kindFile)
	})
}

// prune removes what the backup directory holds beyond the manifest
// (files of the earlier backup no longer in the data directory).
func (j *backupJob) prune() error {
	var dirs []string
	err := filepath.WalkDir(j.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(j.Dir, p)
		r = filepath.ToSlash(r)
		if r == "." || r == manifestName || r == markerName {
			return nil
		}
		if j.inBackup[r] {
			return nil
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		j.rep.Removed++
		return os.Remove(p)
	})
	if err != nil {
		return err
	}
	slices.Reverse(dirs) // children first
	for _, d := range dirs {
		os.Remove(d) // only if empty
	}
	return nil
}
