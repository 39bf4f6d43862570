package imapd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"yubin/storage"
)

// Append implements APPEND: the literal streams into a Maildir file with
// the given flags and internal date. The library enforces APPENDLIMIT.
func (s *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	canon, err := storage.ValidMailboxName(mailbox)
	if err != nil {
		return nil, s.fail("append", err)
	}
	if err := checkFlags(options.Flags); err != nil {
		return nil, s.fail("append", err)
	}
	ctx := s.ctx()
	validity, _, err := s.acct.UIDs(ctx, canon)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, s.fail("append", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"})
		}
		return nil, s.fail("append", err)
	}
	lit := &fullLiteral{r: r, left: r.Size()}
	m, err := s.acct.Deliver(ctx, canon, bufio.NewReaderSize(lit, 64<<10), storage.DeliverOptions{
		Flags:        storageFlags(options.Flags),
		InternalDate: options.Time,
		EnforceQuota: true,
	})
	if errors.Is(err, errShortLiteral) {
		// The connection ended inside the literal: Deliver stored
		// nothing, and nobody is left to answer.
		s.log.Info("append cut short", "mailbox", canon, "size", r.Size(), "received", r.Size()-lit.left)
		return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Literal cut short"}
	}
	if err != nil {
		return nil, s.fail("append", err)
	}
	s.log.Info("appended", "mailbox", canon, "uid", m.UID, "size", m.Size)
	return &imap.AppendData{UID: imap.UID(m.UID), UIDValidity: validity}, nil
}

var errReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Mailbox is read-only"}

// checkFlags refuses system flags the server does not know (RFC 9051
// §2.3.2: only those defined by a standard; the grammar's flag-extension
// is for future ones), which storage cannot keep.
func checkFlags(flags []imap.Flag) error {
	for _, f := range flags {
		if !strings.HasPrefix(string(f), `\`) || strings.EqualFold(string(f), `\Recent`) {
			continue
		}
		if !slices.ContainsFunc(mailboxFlags, func(k imap.Flag) bool { return strings.EqualFold(string(k), string(f)) }) {
			return &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: fmt.Sprintf("Unknown system flag %s", f)}
		}
	}
	return nil
}

// errShortLiteral says a literal ended before its announced size.
var errShortLiteral = errors.New("literal cut short")

// fullLiteral reads a literal and fails with errShortLiteral, instead of
// io.EOF, when the connection ends before every announced byte arrived
// (go-imap's literal reader reports a plain EOF then, and the message
// would be stored truncated).
type fullLiteral struct {
	r    io.Reader
	left int64
}

func (l *fullLiteral) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.left -= int64(n)
	switch {
	case err == io.EOF && l.left > 0:
		err = fmt.Errorf("%w: %d bytes missing", errShortLiteral, l.left)
	case err != nil && err != io.EOF:
		// A reset or the literal read timeout: the same, the message
		// is not whole.
		err = fmt.Errorf("%w: %w", errShortLiteral, err)
	}
	return n, err
}

// Store implements STORE and UID STORE. Unless .SILENT, the new flags are
// returned at once; other sessions get them as unsolicited FETCH.
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	v := s.sel
	if v.readOnly {
		return s.fail("store", errReadOnly)
	}
	if err := checkFlags(flags.Flags); err != nil {
		return s.fail("store", err)
	}
	ctx := withSource(s.ctx(), v.tracker)
	change := storageFlags(flags.Flags)
	for _, it := range v.resolve(numSet) {
		next := applyStore(it.Flags, flags.Op, change)
		if !sameFlags(next, it.Flags) {
			if err := s.acct.SetFlags(ctx, v.name, it.UID, next); err != nil {
				if errors.Is(err, storage.ErrNotFound) {
					continue
				}
				return s.fail("store", err)
			}
		}
		if !flags.Silent && it.seq != 0 {
			rw := w.CreateMessage(it.seq)
			rw.WriteUID(imap.UID(it.UID))
			rw.WriteFlags(imapFlags(next))
			if err := rw.Close(); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyStore computes a message's flags after a STORE operation.
func applyStore(cur []string, op imap.StoreFlagsOp, change []string) []string {
	switch op {
	case imap.StoreFlagsSet:
		return slices.Clone(change)
	case imap.StoreFlagsAdd:
		out := slices.Clone(cur)
		for _, f := range change {
			if !containsFold(out, f) {
				out = append(out, f)
			}
		}
		return out
	default:
		var out []string
		for _, f := range cur {
			if !containsFold(change, f) {
				out = append(out, f)
			}
		}
		return out
	}
}

func containsFold(flags []string, f string) bool {
	return slices.ContainsFunc(flags, func(x string) bool { return equalFold(x, f) })
}

func sameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, f := range a {
		if !containsFold(b, f) {
			return false
		}
	}
	return true
}

// Expunge implements EXPUNGE and UID EXPUNGE: messages marked \Deleted
// (within uids, if given) are removed. The EXPUNGE responses reach this
// session, like every other, through its tracker after the command.
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	v := s.sel
	if v.readOnly {
		// go-imap runs CLOSE as Expunge with a writer bound to no
		// connection. CLOSE of a mailbox opened by EXAMINE removes
		// nothing and succeeds (RFC 3501 §6.4.2); EXPUNGE is refused.
		if w == nil || *w == (imapserver.ExpungeWriter{}) {
			return nil
		}
		return s.fail("expunge", errReadOnly)
	}
	var gone []uint32
	for _, m := range v.all() {
		if uids != nil && !uids.Contains(imap.UID(m.UID)) {
			continue
		}
		if slices.Contains(m.Flags, storage.FlagDeleted) {
			gone = append(gone, m.UID)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if err := s.acct.Expunge(s.ctx(), v.name, gone); err != nil {
		return s.fail("expunge", err)
	}
	s.log.Info("expunged", "mailbox", v.name, "count", len(gone))
	return nil
}

// Copy implements COPY and UID COPY (COPYUID from UIDPLUS).
func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	data, _, err := s.copy(numSet, dest)
	return data, err
}

func (s *session) copy(numSet imap.NumSet, dest string) (*imap.CopyData, []uint32, error) {
	canon, err := storage.ValidMailboxName(dest)
	if err != nil {
		return nil, nil, s.fail("copy", err)
	}
	ctx := s.ctx()
	validity, _, err := s.acct.UIDs(ctx, canon)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, s.fail("copy", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"})
		}
		return nil, nil, s.fail("copy", err)
	}
	items := s.sel.resolve(numSet)
	uids := make([]uint32, len(items))
	for i, it := range items {
		uids[i] = it.UID
	}
	newUIDs, err := s.acct.Copy(ctx, s.sel.name, uids, canon)
	if err != nil {
		return nil, nil, s.fail("copy", err)
	}
	data := &imap.CopyData{UIDValidity: validity}
	var copied, dstUIDs []uint32
	for i, n := range newUIDs {
		if n != 0 {
			data.SourceUIDs.AddNum(imap.UID(uids[i]))
			data.DestUIDs.AddNum(imap.UID(n))
			copied = append(copied, uids[i])
			dstUIDs = append(dstUIDs, n)
		}
	}
	s.learnFiled(s.sel.name, canon, dstUIDs) // into or out of Junk
	return data, copied, nil
}

// Move implements MOVE and UID MOVE (RFC 6851): copy, then expunge the
// originals. The EXPUNGEs follow COPYUID through the tracker.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if s.sel.readOnly {
		return s.fail("move", errReadOnly)
	}
	data, copied, err := s.copy(numSet, dest)
	if err != nil {
		return err
	}
	if err := w.WriteCopyData(data); err != nil {
		return err
	}
	if err := s.acct.Expunge(s.ctx(), s.sel.name, copied); err != nil {
		return s.fail("move", err)
	}
	s.log.Info("moved", "from", s.sel.name, "to", dest, "count", len(copied))
	return nil
}
