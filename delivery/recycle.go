package delivery

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Spool files are recycled rather than deleted. Every queued message used
// to cost one new inode and, once delivered, one freed inode; ext4 avoids
// reusing an inode freed in the last minutes, so under a steady load each
// new file made the allocator step over every recently freed one
// (recently_deleted/find_inode_bit took about 30% of the CPU of the
// inbound path in a profile). A settled message's spool file is instead
// truncated and moved into tmp/ under a "free." name, and the next
// Enqueue writes into it. The pool survives restarts (recover() keeps
// the free files, emptied again); it holds no data, so a crash loses
// nothing.

// maxRecycled bounds the emptied files kept for reuse: enough for a
// burst of mail to be accepted without creating files, one inode each.
const maxRecycled = 4096

const freePrefix = "free."

// recycler is the pool of emptied spool files.
type recycler struct {
	mu    sync.Mutex
	names []string // paths of empty files ready for reuse
}

// take returns an emptied file opened for writing, or a nil file when
// the pool is empty.
func (r *recycler) take(dir string) (string, *os.File, error) {
	for {
		r.mu.Lock()
		n := len(r.names)
		if n == 0 {
			r.mu.Unlock()
			return "", nil, nil
		}
		p := r.names[n-1]
		r.names = r.names[:n-1]
		r.mu.Unlock()
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
		if err == nil {
			return p, f, nil
		}
		os.Remove(p) // gone or unusable: try the next one
	}
}

// adopt takes the emptied file at path (found in tmp/ at start) into the
// pool; it reports false when the file is not usable or the pool is full.
func (r *recycler) adopt(path string) bool {
	r.mu.Lock()
	full := len(r.names) >= maxRecycled
	r.mu.Unlock()
	if full || !soleLink(path) || os.Truncate(path, 0) != nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names = append(r.names, path)
	return true
}

// put empties the spool file at path and keeps it for reuse; it reports
// false (and leaves the file alone) when the pool is full or the file
// cannot be recycled, and the caller removes it.
func (r *recycler) put(path, dir string) bool {
	r.mu.Lock()
	if len(r.names) >= maxRecycled {
		r.mu.Unlock()
		return false
	}
	r.mu.Unlock()
	// Named after the message it held: queue IDs are never reused.
	free := filepath.Join(dir, freePrefix+filepath.Base(path))
	// A spool file delivered by linking (SpoolReader.LinkSource) is also a
	// message in a Maildir: it is only unlinked, never emptied.
	if !soleLink(path) {
		return false
	}
	// Truncate before the rename: a crash in between leaves an empty
	// spool file without a record, which recover() removes.
	if err := os.Truncate(path, 0); err != nil {
		return false
	}
	if err := os.Rename(path, free); err != nil {
		return false
	}
	r.mu.Lock()
	r.names = append(r.names, free)
	r.mu.Unlock()
	return true
}

// isFreeName reports whether a file in tmp/ is a recycled spool file
// (anything else there is an interrupted Enqueue's).
func isFreeName(name string) bool { return strings.HasPrefix(name, freePrefix) }

// soleLink reports whether path is the only name of its file.
func soleLink(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink == 1
}
