package importer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"yubin/storage"
)

// MboxOptions configures Mbox.
type MboxOptions struct {
	Options
	// Files are the mbox files to read.
	Files []string
	// Folder is the target folder; "" derives it from each file's name
	// ("Sent.mbox" goes to Sent, "Inbox" to INBOX).
	Folder string
	// Mboxo reads the old mboxo escaping, where only ">From " lines were
	// escaped (one '>' removed from ">From " only). The default is mboxrd:
	// one '>' is removed from every line matching ^>+From .
	Mboxo bool
}

// maxHeader bounds the header block read before a message is delivered
// (flags come from its Status lines); a longer header is streamed as body.
const maxHeader = 1 << 20

// Mbox imports mbox files. Each file resumes at the offset after the last
// message an earlier run copied, if the file still starts with the same
// bytes.
func Mbox(ctx context.Context, opts MboxOptions) (Summary, error) {
	j, err := newJob(ctx, opts.Options, "mbox")
	if err != nil {
		return Summary{}, err
	}
	for _, file := range opts.Files {
		if err := ctx.Err(); err != nil {
			return j.finish(), err
		}
		if err := j.mboxFile(file, opts); err != nil {
			return j.finish(), fmt.Errorf("%s: %w", file, err)
		}
	}
	return j.finish(), nil
}

// folderForFile maps an mbox file name to a folder.
func folderForFile(file string) string {
	base := filepath.Base(file)
	for _, ext := range []string{".mbox", ".mbx", ".mbs"} {
		if strings.HasSuffix(strings.ToLower(base), ext) {
			base = base[:len(base)-len(ext)]
		}
	}
	t, _ := TargetFolder(base, 0, nil)
	return t
}

func (j *job) mboxFile(file string, opts MboxOptions) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	f, err := os.Open(abs)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	folder := opts.Folder
	if folder == "" {
		folder = folderForFile(abs)
	}
	if folder, err = storage.ValidMailboxName(folder); err != nil {
		return err
	}
	j.Progress.Folder(filepath.Base(abs) + " -> " + folder)
	j.sum.Folders++
	if err := j.ensureFolder(folder); err != nil {
		return err
	}
	stateKey := abs + "\x00" + folder
	st, ok, err := j.Store.ImportFolderState(j.ctx, j.User, j.source, stateKey)
	if err != nil {
		return err
	}
	var start int64
	if ok && st.LastUID > 0 && int64(st.LastUID) <= fi.Size() {
		if sum, err := prefixCRC(f, int64(st.LastUID)); err == nil && sum == st.UIDValidity {
			start = int64(st.LastUID)
		} else {
			fmt.Fprintf(j.Errors, "%s: changed since the last import; reading it from the start\n", abs)
		}
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return err
	}
	if start > 0 {
		fmt.Fprintf(j.Errors, "%s: resuming at byte %d of %d\n", abs, start, fi.Size())
	}
	j.Progress.AddTotal(0, fi.Size()-start)
	r := NewMboxReader(f, start, opts.Mboxo)
	for {
		if err := j.ctx.Err(); err != nil {
			return err
		}
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		j.Progress.AddTotal(1, 0)
		hdr, flags, hdrDate, err := readMboxHeader(m)
		if err != nil {
			return err
		}
		date := m.Date
		if date.IsZero() {
			date = hdrDate
		}
		body := io.MultiReader(bytes.NewReader(hdr), m)
		msg, derr := j.acct.Deliver(j.ctx, folder, body, storage.DeliverOptions{Flags: flags, InternalDate: date})
		if _, err := io.Copy(io.Discard, m); err != nil { // the rest, if Deliver stopped early
			return err
		}
		if derr != nil {
			if j.ctx.Err() != nil {
				return j.ctx.Err()
			}
			j.fail("%s: message at byte %d: %v", abs, m.Offset, derr)
			j.Progress.Done(0)
			continue
		}
		end := r.Offset()
		sum, err := prefixCRC(f, end)
		if err != nil {
			return err
		}
		if err := j.Store.RecordImport(j.ctx, j.User, j.source, stateKey, storage.ImportFolder{UIDValidity: sum, LastUID: uint64(end)}, ""); err != nil {
			return err
		}
		j.sum.Messages++
		j.sum.Bytes += msg.Size
		j.Progress.Done(msg.Size)
	}
}

// prefixCRC is the CRC-32 of the first min(n, 64 KiB) bytes of f; it
// tells whether a file still starts as it did at the last import.
func prefixCRC(f *os.File, n int64) (uint32, error) {
	n = min(n, 64<<10)
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, 0); err != nil {
		return 0, err
	}
	return crc32.ChecksumIEEE(buf), nil
}

// readMboxHeader reads the header block of an mbox message (up to
// maxHeader bytes), takes the flags from Status, X-Status and X-Keywords
// (and drops those lines, which belong to the mbox, not the message), and
// returns the rest of the header to deliver before the body.
func readMboxHeader(r io.Reader) (hdr []byte, flags []string, date time.Time, err error) {
	br := bufio.NewReaderSize(r, 4096)
	var out bytes.Buffer
	var kept bytes.Buffer
	dropping := false
	for out.Len() < maxHeader {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			out.Write(line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, nil, time.Time{}, err
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			kept.Write(line)
			// A long header line: keep it and stop interpreting.
			rest, _ := io.ReadAll(io.LimitReader(br, int64(maxHeader)))
			kept.Write(rest)
			break
		}
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			kept.Write(line)
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && dropping {
			continue
		}
		dropping = false
		name, value, ok := bytes.Cut(trimmed, []byte(":"))
		if ok {
			switch strings.ToLower(string(name)) {
			case "status":
				flags = append(flags, statusFlags(string(value))...)
				dropping = true
				continue
			case "x-status":
				flags = append(flags, statusFlags(string(value))...)
				dropping = true
				continue
			case "x-keywords":
				flags = append(flags, strings.FieldsFunc(string(value), func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })...)
				dropping = true
				continue
			case "x-uid", "x-imap", "x-imapbase":
				dropping = true
				continue
			case "date":
				if t, err := mail.ParseDate(strings.TrimSpace(string(value))); err == nil {
					date = t
				}
			}
		}
		kept.Write(line)
	}
	// Whatever br buffered beyond the header is part of the body.
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		kept.Write(b)
	}
	return kept.Bytes(), cleanFlags(flags), date, nil
}

// statusFlags maps mbox Status/X-Status letters to flags (R read, O old,
// A answered, F flagged, T draft, D deleted).
func statusFlags(v string) []string {
	var out []string
	for _, c := range strings.TrimSpace(v) {
		switch c {
		case 'R':
			out = append(out, storage.FlagSeen)
		case 'A':
			out = append(out, storage.FlagAnswered)
		case 'F':
			out = append(out, storage.FlagFlagged)
		case 'T':
			out = append(out, storage.FlagDraft)
		case 'D':
			out = append(out, storage.FlagDeleted)
		}
	}
	return out
}

// fromLine matches an mbox separator: "From " sender, then an asctime
// date ("Mon Jan  2 15:04:05 2006", optionally with a zone before or
// after the year). Body lines that merely start with "From " do not match.
var fromLine = regexp.MustCompile(`^From (\S*)\s+((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s+[A-Za-z]{1,5}|\s+[+-]\d{4})?\s+\d{4}(?:\s+[+-]\d{4})?)\s*$`)

// parseFromDate parses the date of a separator line.
func parseFromDate(s string) time.Time {
	s = strings.Join(strings.Fields(s), " ")
	for _, layout := range []string{
		"Mon Jan 2 15:04:05 2006", "Mon Jan 2 15:04:05 2006 -0700", "Mon Jan 2 15:04:05 MST 2006",
		"Mon Jan 2 15:04:05 -0700 2006", "Mon Jan 2 15:04 2006",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// MboxReader splits an mbox stream into messages, streaming each one and
// undoing the "From " escaping. A separator is a "From " line with a date,
// at the start of the file or after an empty line; the empty line before a
// separator belongs to the mbox, not to the message.
type MboxReader struct {
	br     *bufio.Reader
	mboxo  bool
	offset int64 // bytes consumed from the underlying reader
	// next separator already read (the start of the next message)
	sepLine  []byte
	sepStart int64
	eof      bool
	cur      *MboxMessage
}

// NewMboxReader reads r, which is at byte offset start of the file (a
// message boundary).
func NewMboxReader(r io.Reader, start int64, mboxo bool) *MboxReader {
	return &MboxReader{br: bufio.NewReaderSize(r, 64<<10), mboxo: mboxo, offset: start}
}

// Offset is the byte offset after the last message returned and fully
// read: where the next message starts.
func (r *MboxReader) Offset() int64 {
	if r.sepLine != nil {
		return r.sepStart
	}
	return r.offset
}

// MboxMessage is one message; Read streams its bytes (unescaped).
type MboxMessage struct {
	r      *MboxReader
	From   string    // the sender on the separator line
	Date   time.Time // the separator's date (zero if unparsable)
	Offset int64     // where its separator starts

	pendingBlank []byte // an empty line held back: it may precede a separator
	buf          []byte // unescaped bytes ready to return
	done         bool
	midLine      bool // the last line read was cut by the buffer size
}

// Next returns the next message; io.EOF at the end. The previous
// message is skipped if not fully read.
func (r *MboxReader) Next() (*MboxMessage, error) {
	if r.cur != nil && !r.cur.done {
		if _, err := io.Copy(io.Discard, r.cur); err != nil {
			return nil, err
		}
	}
	if r.sepLine == nil {
		if r.eof {
			return nil, io.EOF
		}
		// Find the first separator, skipping leading junk or blank lines.
		for {
			start := r.offset
			line, err := r.readLine()
			if len(line) > 0 && fromLine.Match(bytes.TrimRight(line, "\r\n")) {
				r.sepLine, r.sepStart = line, start
				break
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					r.eof = true
					return nil, io.EOF
				}
				return nil, err
			}
			if len(bytes.TrimRight(line, "\r\n")) != 0 {
				return nil, fmt.Errorf("byte %d: not an mbox file (no \"From \" line)", start)
			}
		}
	}
	sub := fromLine.FindSubmatch(bytes.TrimRight(r.sepLine, "\r\n"))
	m := &MboxMessage{r: r, From: string(sub[1]), Date: parseFromDate(string(sub[2])), Offset: r.sepStart}
	r.sepLine = nil
	r.cur = m
	return m, nil
}

// readLine returns the next line (with its end) or a part of a very long
// line; it counts consumed bytes.
func (r *MboxReader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	r.offset += int64(len(line))
	if errors.Is(err, bufio.ErrBufferFull) {
		err = nil
	}
	if errors.Is(err, io.EOF) && len(line) > 0 {
		err = nil
		r.eof = true
	}
	return line, err
}

func (m *MboxMessage) Read(p []byte) (int, error) {
	for len(m.buf) == 0 {
		if m.done {
			return 0, io.EOF
		}
		if err := m.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, m.buf)
	m.buf = m.buf[n:]
	return n, nil
}

// fill reads one line into buf, handling separators and escapes.
func (m *MboxMessage) fill() error {
	r := m.r
	if r.eof && r.br.Buffered() == 0 {
		m.finish(false)
		return nil
	}
	start := r.offset
	lineStart := !m.midLine
	line, err := r.readLine()
	if err != nil {
		if errors.Is(err, io.EOF) {
			r.eof = true
			m.finish(false)
			return nil
		}
		return err
	}
	m.midLine = len(line) > 0 && line[len(line)-1] != '\n'
	if !lineStart {
		m.buf = append(m.buf[:0], line...)
		return nil
	}
	content := bytes.TrimRight(line, "\r\n")
	if m.pendingBlank != nil && fromLine.Match(content) {
		// The held-back empty line ends the message.
		m.pendingBlank = nil
		r.sepLine, r.sepStart = append([]byte(nil), line...), start
		m.finish(true)
		return nil
	}
	m.buf = m.buf[:0]
	if m.pendingBlank != nil {
		m.buf = append(m.buf, m.pendingBlank...)
		m.pendingBlank = nil
	}
	if len(content) == 0 && !m.midLine {
		m.pendingBlank = append([]byte(nil), line...)
		return nil
	}
	if m.r.mboxo {
		if bytes.HasPrefix(line, []byte(">From ")) {
			line = line[1:]
		}
	} else if i := bytes.IndexFunc(line, func(c rune) bool { return c != '>' }); i > 0 && bytes.HasPrefix(line[i:], []byte("From ")) {
		line = line[1:]
	}
	m.buf = append(m.buf, line...)
	return nil
}

// finish ends the message; at the end of the file a held-back empty line
// is the mbox's trailing separator and is dropped too.
func (m *MboxMessage) finish(bySeparator bool) {
	m.done = true
	m.pendingBlank = nil
	_ = bySeparator
}
