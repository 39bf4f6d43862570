package importer

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"yubin/storage"
)

// Progress receives the progress of an import or export. Implementations
// draw a progress bar or do nothing; calls come from one goroutine.
type Progress interface {
	// AddTotal announces n more messages and size more bytes to come
	// (size may be 0 when the source does not tell).
	AddTotal(n int, size int64)
	// Done reports one message copied or skipped, with its size.
	Done(size int64)
	// Folder names the folder being worked on.
	Folder(name string)
}

type noProgress struct{}

func (noProgress) AddTotal(int, int64) {}
func (noProgress) Done(int64)          {}
func (noProgress) Folder(string)       {}

// Summary is what an import or export did.
type Summary struct {
	Folders  int           // folders visited
	Messages int           // messages copied
	Bytes    int64         // bytes copied
	Skipped  int           // already copied by an earlier run
	Errors   int           // messages that failed (each reported to Options.Errors)
	Elapsed  time.Duration // wall time
}

func (s Summary) String() string {
	rate := ""
	if secs := s.Elapsed.Seconds(); secs > 0 && s.Messages > 0 {
		rate = fmt.Sprintf(" (%.0f messages/s, %.1f MB/s)", float64(s.Messages)/secs, float64(s.Bytes)/1e6/secs)
	}
	return fmt.Sprintf("%d folders, %d messages, %s copied, %d skipped, %d errors in %s%s",
		s.Folders, s.Messages, formatBytes(s.Bytes), s.Skipped, s.Errors, s.Elapsed.Round(time.Millisecond), rate)
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Options are shared by every import.
type Options struct {
	// Store and User name the target account (which must exist).
	Store *storage.Store
	User  storage.Address
	// Progress is told about every message; nil shows nothing.
	Progress Progress
	// Errors receives one line per message that could not be copied;
	// nil discards them. A message error does not stop the import.
	Errors io.Writer
	// Folders, if set, limits the import to these source folders (names
	// as the source spells them, or shell patterns; children match too).
	Folders []string
	// Exclude skips source folders matching any of these patterns.
	Exclude []string
}

// job is the state of one run.
type job struct {
	Options
	ctx     context.Context
	acct    *storage.Account
	source  string // names the source in the import state
	sum     Summary
	start   time.Time
	created map[string]bool // target folders known to exist
}

func newJob(ctx context.Context, opts Options, source string) (*job, error) {
	if opts.Progress == nil {
		opts.Progress = noProgress{}
	}
	if opts.Errors == nil {
		opts.Errors = io.Discard
	}
	acct, err := opts.Store.Account(ctx, opts.User)
	if err != nil {
		return nil, err
	}
	return &job{Options: opts, ctx: ctx, acct: acct, source: source, start: time.Now(), created: map[string]bool{}}, nil
}

func (j *job) finish() Summary {
	j.sum.Elapsed = time.Since(j.start)
	return j.sum
}

// wanted applies Folders and Exclude to a source folder name ("/" as
// separator).
func (j *job) wanted(name string) bool {
	match := func(pats []string) bool {
		for _, p := range pats {
			if strings.EqualFold(p, name) || strings.HasPrefix(strings.ToLower(name), strings.ToLower(p)+"/") {
				return true
			}
			if ok, _ := path.Match(p, name); ok {
				return true
			}
		}
		return false
	}
	if len(j.Folders) > 0 && !match(j.Folders) {
		return false
	}
	return !match(j.Exclude)
}

// ensureFolder creates the target folder (and its parents) if needed.
func (j *job) ensureFolder(name string) error {
	if name == storage.Inbox || j.created[name] {
		return nil
	}
	boxes, err := j.acct.Mailboxes(j.ctx)
	if err != nil {
		return err
	}
	exists := map[string]bool{}
	for _, b := range boxes {
		exists[b.Name] = true
	}
	parts := strings.Split(name, "/")
	for i := range parts {
		n := strings.Join(parts[:i+1], "/")
		if exists[n] {
			continue
		}
		if err := j.acct.CreateMailbox(j.ctx, n); err != nil {
			return fmt.Errorf("create folder %q: %w", n, err)
		}
	}
	j.created[name] = true
	return nil
}

// deliver stores one message and records it in the import state.
func (j *job) deliver(folder string, r io.Reader, flags []string, date time.Time, stateFolder string, st storage.ImportFolder, fingerprint string) (int64, error) {
	m, err := j.acct.Deliver(j.ctx, folder, r, storage.DeliverOptions{Flags: flags, InternalDate: date})
	if err != nil {
		return 0, err
	}
	if err := j.Store.RecordImport(j.ctx, j.User, j.source, stateFolder, st, fingerprint); err != nil {
		return m.Size, err
	}
	j.sum.Messages++
	j.sum.Bytes += m.Size
	return m.Size, nil
}

func (j *job) fail(format string, args ...any) {
	j.sum.Errors++
	fmt.Fprintf(j.Errors, format+"\n", args...)
}

// cleanFlags keeps the flags Yubin can store: system flags and valid
// keywords; \Recent and invalid keywords are dropped.
func cleanFlags(flags []string) []string {
	var out []string
	for _, f := range flags {
		switch strings.ToLower(f) {
		case `\seen`, `\answered`, `\flagged`, `\deleted`, `\draft`, `$forwarded`:
			out = append(out, f)
			continue
		}
		if f == "" || strings.HasPrefix(f, `\`) || strings.ContainsFunc(f, func(r rune) bool {
			return r <= ' ' || r >= 0x7f || strings.ContainsRune(`(){%*"\]`, r)
		}) {
			continue
		}
		out = append(out, f)
	}
	return out
}
