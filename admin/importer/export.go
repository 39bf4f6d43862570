package importer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"yubin/storage"
)

// Export formats.
const (
	FormatMaildir = "maildir"
	FormatMbox    = "mbox"
)

// ExportOptions configures Export.
type ExportOptions struct {
	Store *storage.Store
	User  storage.Address
	// Format is FormatMaildir (a Maildir++ tree: DIR is INBOX, DIR/.Sent
	// is Sent; flags in file names, keywords in dovecot-keywords, dates
	// as mtimes) or FormatMbox (DIR/INBOX.mbox, DIR/Sent.mbox,
	// DIR/A/B.mbox; mboxrd escaping, flags in Status, X-Status and
	// X-Keywords lines, LF line ends).
	Format string
	// Dir is created if missing; existing exported files are replaced.
	Dir      string
	Progress Progress
}

// exportChunk bounds the index rows read at once.
const exportChunk = 1000

// Export writes every folder of an account to Dir.
func Export(ctx context.Context, opts ExportOptions) (Summary, error) {
	if opts.Progress == nil {
		opts.Progress = noProgress{}
	}
	if opts.Format != FormatMaildir && opts.Format != FormatMbox {
		return Summary{}, fmt.Errorf("export format %q: use maildir or mbox", opts.Format)
	}
	start := time.Now()
	var sum Summary
	acct, err := opts.Store.Account(ctx, opts.User)
	if err != nil {
		return sum, err
	}
	boxes, err := acct.Mailboxes(ctx)
	if err != nil {
		return sum, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return sum, err
	}
	for _, b := range boxes {
		st, err := acct.Status(ctx, b.Name)
		if err != nil {
			return sum, err
		}
		opts.Progress.AddTotal(st.Messages, st.Size)
	}
	for _, b := range boxes {
		opts.Progress.Folder(b.Name)
		sum.Folders++
		var w folderWriter
		if opts.Format == FormatMaildir {
			w, err = newMaildirWriter(opts.Dir, b.Name)
		} else {
			w, err = newMboxWriter(opts.Dir, b.Name)
		}
		if err != nil {
			return sum, err
		}
		err = eachMessage(ctx, acct, b.Name, func(m storage.Message) error {
			f, err := acct.OpenMessage(ctx, b.Name, m)
			if errors.Is(err, storage.ErrNotFound) {
				return nil // expunged meanwhile
			}
			if err != nil {
				return err
			}
			defer f.Close()
			n, err := w.write(m, f)
			if err != nil {
				return err
			}
			sum.Messages++
			sum.Bytes += n
			opts.Progress.Done(n)
			return nil
		})
		if cerr := w.close(); err == nil {
			err = cerr
		}
		if err != nil {
			return sum, fmt.Errorf("export %q: %w", b.Name, err)
		}
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// eachMessage calls f for every message of mailbox in UID order, reading
// the index in chunks.
func eachMessage(ctx context.Context, acct *storage.Account, mailbox string, f func(storage.Message) error) error {
	st, err := acct.Status(ctx, mailbox)
	if err != nil {
		return err
	}
	for first := uint64(1); first < uint64(st.UIDNext); first += exportChunk {
		last := min(first+exportChunk-1, math.MaxUint32)
		msgs, err := acct.MessageRange(ctx, mailbox, uint32(first), uint32(last))
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := f(m); err != nil {
				return err
			}
		}
	}
	return nil
}

type folderWriter interface {
	write(m storage.Message, r io.Reader) (int64, error)
	close() error
}

// maildirWriter writes one Maildir++ folder.
type maildirWriter struct {
	dir      string
	keywords []string // index = letter - 'a'
}

func newMaildirWriter(root, mailbox string) (*maildirWriter, error) {
	dir := root
	if mailbox != storage.Inbox {
		dir = filepath.Join(root, "."+strings.ReplaceAll(mailbox, "/", "."))
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	if mailbox != storage.Inbox {
		if err := os.WriteFile(filepath.Join(dir, "maildirfolder"), nil, 0o600); err != nil {
			return nil, err
		}
	}
	return &maildirWriter{dir: dir}, nil
}

var systemLetters = map[string]byte{
	storage.FlagDraft: 'D', storage.FlagFlagged: 'F', storage.FlagForwarded: 'P',
	storage.FlagAnswered: 'R', storage.FlagSeen: 'S', storage.FlagDeleted: 'T',
}

func (w *maildirWriter) write(m storage.Message, r io.Reader) (int64, error) {
	var letters []byte
	for _, f := range m.Flags {
		if l, ok := systemLetters[f]; ok {
			letters = append(letters, l)
			continue
		}
		i := slices.Index(w.keywords, f)
		if i < 0 && len(w.keywords) < 26 {
			w.keywords = append(w.keywords, f)
			i = len(w.keywords) - 1
		}
		if i >= 0 {
			letters = append(letters, byte('a'+i))
		}
	}
	slices.Sort(letters)
	tmp := filepath.Join(w.dir, "tmp", m.Key)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(tmp, m.InternalDate, m.InternalDate)
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(w.dir, "cur", m.Key+":2,"+string(letters)))
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return n, nil
}

func (w *maildirWriter) close() error {
	if len(w.keywords) == 0 {
		return nil
	}
	var b strings.Builder
	for i, k := range w.keywords {
		b.WriteString(strconv.Itoa(i) + " " + k + "\n")
	}
	return os.WriteFile(filepath.Join(w.dir, "dovecot-keywords"), []byte(b.String()), 0o600)
}

// mboxWriter writes one folder as an mboxrd file.
type mboxWriter struct {
	f   *os.File
	bw  *bufio.Writer
	tmp string
	dst string
}

func newMboxWriter(root, mailbox string) (*mboxWriter, error) {
	dst := filepath.Join(root, filepath.FromSlash(mailbox)+".mbox")
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return nil, err
	}
	tmp := dst + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	return &mboxWriter{f: f, bw: bufio.NewWriterSize(f, 64<<10), tmp: tmp, dst: dst}, nil
}

func (w *mboxWriter) write(m storage.Message, r io.Reader) (int64, error) {
	fmt.Fprintf(w.bw, "From MAILER-DAEMON %s\n", m.InternalDate.UTC().Format("Mon Jan _2 15:04:05 2006"))
	var status, xstatus []byte
	var kws []string
	for _, f := range m.Flags {
		switch f {
		case storage.FlagSeen:
			status = append(status, 'R')
		case storage.FlagAnswered:
			xstatus = append(xstatus, 'A')
		case storage.FlagFlagged:
			xstatus = append(xstatus, 'F')
		case storage.FlagDraft:
			xstatus = append(xstatus, 'T')
		case storage.FlagDeleted:
			xstatus = append(xstatus, 'D')
		default:
			kws = append(kws, f)
		}
	}
	status = append(status, 'O')
	fmt.Fprintf(w.bw, "Status: %s\n", status)
	if len(xstatus) > 0 {
		fmt.Fprintf(w.bw, "X-Status: %s\n", xstatus)
	}
	if len(kws) > 0 {
		fmt.Fprintf(w.bw, "X-Keywords: %s\n", strings.Join(kws, " "))
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var n int64
	lineStart := true
	lastNL := true
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			n += int64(len(line))
			full := line[len(line)-1] == '\n'
			if full {
				line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
			}
			if lineStart {
				if i := bytes.IndexFunc(line, func(c rune) bool { return c != '>' }); i >= 0 && bytes.HasPrefix(line[i:], []byte("From ")) {
					w.bw.WriteByte('>')
				}
			}
			w.bw.Write(line)
			if full {
				w.bw.WriteByte('\n')
			}
			lineStart, lastNL = full, full
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if !lastNL {
		w.bw.WriteByte('\n')
	}
	w.bw.WriteByte('\n')
	return n, nil
}

func (w *mboxWriter) close() error {
	err := w.bw.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp, w.dst)
	}
	if err != nil {
		os.Remove(w.tmp)
	}
	return err
}
