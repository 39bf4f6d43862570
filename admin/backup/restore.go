package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"yubin/storage"
)

// RestoreOptions configures Restore.
type RestoreOptions struct {
	// Dir is the backup; DataDir the data directory to create. DataDir
	// must be missing or empty: Restore never mixes a backup with live
	// data.
	Dir, DataDir string
}

// Restore copies a backup into a fresh data directory, checking every
// file against its checksum, and returns what it restored. When run as
// root into a data directory owned by another user (the yubin user, as
// the package creates it), every file is given to that user.
func Restore(ctx context.Context, opts RestoreOptions) (Report, error) {
	start := time.Now()
	m, err := Open(opts.Dir)
	if err != nil {
		return Report{}, err
	}
	data, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return Report{}, err
	}
	if ents, err := os.ReadDir(data); err == nil {
		for _, e := range ents {
			if e.Name() != "lost+found" {
				return Report{}, fmt.Errorf("data directory %s is not empty: restore only into a new, empty one (stop maild, move the old one aside)", data)
			}
		}
	} else if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(data, 0o700); err != nil {
			return Report{}, err
		}
	} else {
		return Report{}, err
	}
	uid, gid, chown := ownerOf(data)
	var rep Report
	dirs := slices.DeleteFunc(slices.Clone(m.Files), func(e Entry) bool { return e.Kind != kindDir })
	slices.SortFunc(dirs, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	for _, e := range dirs {
		p := filepath.Join(data, filepath.FromSlash(e.Path))
		if err := os.MkdirAll(p, e.Mode|0o700); err != nil {
			return rep, err
		}
		os.Chmod(p, e.Mode)
		if chown {
			os.Lchown(p, uid, gid)
		}
	}
	for _, e := range m.Files {
		if e.Kind == kindDir {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		dst := filepath.Join(data, filepath.FromSlash(e.Path))
		if err := restoreFile(filepath.Join(opts.Dir, filepath.FromSlash(e.Path)), dst, e); err != nil {
			return rep, err
		}
		if chown {
			if err := os.Lchown(dst, uid, gid); err != nil {
				return rep, err
			}
		}
		rep.Files++
		rep.Copied++
		rep.Bytes += e.Size
	}
	for _, e := range dirs {
		if strings.HasPrefix(e.Path, "mail/") && strings.Count(e.Path, "/") == 2 {
			rep.Accounts++
		}
	}
	syscall.Sync()
	for _, e := range m.Files {
		if e.Kind == kindDB {
			if err := checkDB(ctx, filepath.Join(data, filepath.FromSlash(e.Path))); err != nil {
				return rep, err
			}
		}
	}
	// The restored state may be older than what clients saw: move every
	// mailbox past it (UIDs, MODSEQs), so no UID is given twice and
	// every IMAP client resynchronises once (storage.MarkRestored).
	for _, e := range dirs {
		if !strings.HasPrefix(e.Path, "mail/") || strings.Count(e.Path, "/") != 2 {
			continue
		}
		root := filepath.Join(data, filepath.FromSlash(e.Path))
		if _, err := os.Stat(filepath.Join(root, storage.IndexFileName)); err != nil {
			continue // no index: maild builds a fresh one, new UIDVALIDITYs
		}
		if err := storage.MarkRestored(ctx, root); err != nil {
			return rep, err
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func restoreFile(src, dst string, e Entry) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("backup is missing %s: %w", e.Path, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, e.Mode|0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", e.Path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != e.SHA256 || n != e.Size {
		return fmt.Errorf("restore %s: checksum mismatch (the backup is damaged: %d bytes, sha256 %s; manifest says %d, %s)", e.Path, n, sum, e.Size, e.SHA256)
	}
	os.Chmod(dst, e.Mode)
	if e.MTime != 0 {
		t := time.Unix(0, e.MTime)
		os.Chtimes(dst, t, t)
	}
	return nil
}

// ownerOf returns the owner of dir and whether files must be chowned to
// it (running as root, dir owned by someone else).
func ownerOf(dir string) (int, int, bool) {
	if os.Geteuid() != 0 {
		return 0, 0, false
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return 0, 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}

// Problem is one file of a backup that does not match its manifest.
type Problem struct {
	Path, Detail string
}

// Check re-reads every file of a backup and compares it with the
// manifest; it returns the differences (nil if the backup is intact).
func Check(ctx context.Context, dir string) (*Manifest, []Problem, error) {
	m, err := Open(dir)
	if err != nil {
		return nil, nil, err
	}
	var problems []Problem
	for _, e := range m.Files {
		if err := ctx.Err(); err != nil {
			return m, problems, err
		}
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		if e.Kind == kindDir {
			if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
				problems = append(problems, Problem{e.Path, "directory missing"})
			}
			continue
		}
		sum, n, err := hashFile(p)
		switch {
		case err != nil:
			problems = append(problems, Problem{e.Path, err.Error()})
		case n != e.Size || sum != e.SHA256:
			problems = append(problems, Problem{e.Path, fmt.Sprintf("%d bytes, sha256 %s; manifest says %d, %s", n, sum, e.Size, e.SHA256)})
		}
	}
	return m, problems, nil
}
