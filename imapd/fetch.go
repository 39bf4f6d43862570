package imapd

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"yubin/storage"
)

// Fetch implements FETCH and UID FETCH. Flags, dates and sizes come from
// the open mailbox's memory; message files are opened only for items
// that need them, and header items read only the header.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	v := s.sel
	markSeen := !v.readOnly && wantsSeen(options)
	for _, it := range v.resolve(numSet) {
		if it.seq == 0 {
			continue // not announced to this client yet
		}
		m := *it.Message // a copy: entries are shared and never changed
		if markSeen && !slices.Contains(m.Flags, storage.FlagSeen) {
			flags := append(slices.Clone(m.Flags), storage.FlagSeen)
			if err := s.acct.SetFlags(s.ctx(), v.name, it.UID, flags); err == nil {
				m.Flags = flags
			}
		}
		if err := s.fetchOne(w.CreateMessage(it.seq), m, options); err != nil {
			return err
		}
	}
	return nil
}

func wantsSeen(o *imap.FetchOptions) bool {
	for _, bs := range o.BodySection {
		if !bs.Peek {
			return true
		}
	}
	for _, bs := range o.BinarySection {
		if !bs.Peek {
			return true
		}
	}
	return false
}

// fetchOne writes one FETCH response.
func (s *session) fetchOne(w *imapserver.FetchResponseWriter, m storage.Message, o *imap.FetchOptions) error {
	w.WriteUID(imap.UID(m.UID))
	if o.Flags {
		w.WriteFlags(imapFlags(m.Flags))
	}
	if o.InternalDate {
		w.WriteInternalDate(m.InternalDate)
	}
	if o.RFC822Size {
		w.WriteRFC822Size(m.Size)
	}
	var cached *cachedHeader
	if o.Envelope {
		cached = s.sel.box.cachedHeader(m.UID)
	}
	needFile := (o.Envelope && cached == nil) || o.BodyStructure != nil || len(o.BodySection) > 0 || len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0
	if !needFile {
		if cached != nil {
			w.WriteEnvelope(cached.envelope())
		}
		return w.Close()
	}
	f, err := s.openMessage(m)
	if err != nil {
		// Gone since the command started: send what we have.
		s.log.Warn("fetch: open message", "mailbox", s.sel.name, "uid", m.UID, "err", err)
		return w.Close()
	}
	defer f.Close()
	if o.Envelope {
		if cached == nil {
			if h, err := readHeader(f); err == nil {
				cached = newCachedHeader(&h)
				s.sel.box.cacheHeader(m.UID, cached)
			}
		}
		if cached != nil {
			w.WriteEnvelope(cached.envelope())
		}
	}
	if o.BodyStructure != nil {
		if _, err := f.Seek(0, io.SeekStart); err == nil {
			r := wire(f)
			w.WriteBodyStructure(imapserver.ExtractBodyStructure(r))
			unwire(r)
		}
	}
	for _, bs := range o.BodySection {
		if err := writeBodySection(w, f, m.Size, bs); err != nil {
			return err
		}
	}
	for _, bs := range o.BinarySection {
		if len(bs.Part) == 0 {
			// BINARY[] is the whole message (RFC 3516 §4.2 decodes body
			// parts, not the message): the bytes and size of BODY[], not
			// the library's re-encoded header.
			if err := writeWhole(w.WriteBinarySection(bs, partialSize(bs.Partial, m.Size)), f, m.Size, bs.Partial); err != nil {
				return err
			}
			continue
		}
		f.Seek(0, io.SeekStart)
		r := wire(f)
		buf := imapserver.ExtractBinarySection(r, bs)
		unwire(r)
		if err := writeAll(w.WriteBinarySection(bs, int64(len(buf))), buf); err != nil {
			return err
		}
	}
	for _, bss := range o.BinarySectionSize {
		if len(bss.Part) == 0 {
			w.WriteBinarySectionSize(bss, uint32(m.Size)) // as RFC822.SIZE
			continue
		}
		f.Seek(0, io.SeekStart)
		r := wire(f)
		w.WriteBinarySectionSize(bss, imapserver.ExtractBinarySectionSize(r, bss))
		unwire(r)
	}
	return w.Close()
}

// writeBodySection writes BODY[section]<partial>. The whole message and
// its header are streamed from the file; other sections are extracted by
// the library.
func writeBodySection(w *imapserver.FetchResponseWriter, f *os.File, size int64, bs *imap.FetchItemBodySection) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	whole := len(bs.Part) == 0 && len(bs.HeaderFields) == 0 && len(bs.HeaderFieldsNot) == 0
	switch {
	case whole && bs.Specifier == imap.PartSpecifierNone:
		return writeWhole(w.WriteBodySection(bs, partialSize(bs.Partial, size)), f, size, bs.Partial)
	case whole && bs.Specifier == imap.PartSpecifierHeader:
		hdr, err := headerBytes(f)
		if err != nil {
			return err
		}
		off, n := partial(bs.Partial, int64(len(hdr)))
		return writeAll(w.WriteBodySection(bs, n), hdr[off:off+n])
	}
	var r *bufio.Reader
	if len(bs.Part) == 0 && bs.Specifier == imap.PartSpecifierHeader {
		// HEADER.FIELDS of the top level: the header is enough.
		hdr, err := headerBytes(f)
		if err != nil {
			return err
		}
		r = bufio.NewReader(bytes.NewReader(hdr))
	} else {
		r = wire(f)
		defer unwire(r)
	}
	buf := imapserver.ExtractBodySection(r, bs)
	return writeAll(w.WriteBodySection(bs, int64(len(buf))), buf)
}

// writeWhole streams the whole message <partial> from f into wc. Size is
// the wire size (the one stored form), which the index knows.
func writeWhole(wc io.WriteCloser, f *os.File, size int64, p *imap.SectionPartial) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		wc.Close()
		return err
	}
	off, n := partial(p, size)
	r := wire(f)
	defer unwire(r)
	_, err := io.CopyN(io.Discard, r, off)
	if err == nil {
		_, err = io.CopyN(wc, r, n)
	}
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

func partialSize(p *imap.SectionPartial, size int64) int64 {
	_, n := partial(p, size)
	return n
}

// wire reads a message file as IMAP sends it: CRLF line ends. The
// reader comes from a pool (a SEARCH BODY over 10,000 messages would
// otherwise allocate 10,000 buffers); give it back with unwire.
func wire(f *os.File) *bufio.Reader {
	r := wirePool.Get().(*bufio.Reader)
	r.Reset(storage.CanonicalReader(f, false))
	return r
}

func unwire(r *bufio.Reader) {
	r.Reset(nil)
	wirePool.Put(r)
}

var wirePool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// partial returns the offset and length of <offset.size> within size.
func partial(p *imap.SectionPartial, size int64) (int64, int64) {
	if p == nil {
		return 0, size
	}
	off := min(p.Offset, size)
	return off, min(p.Size, size-off)
}

func writeAll(wc io.WriteCloser, b []byte) error {
	_, err := wc.Write(b)
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

// maxHeader bounds how much is read as a message header.
const maxHeader = 1 << 20

// headerBytes returns the header section including the blank line that
// ends it (or the whole message when it has no body).
func headerBytes(f *os.File) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	br := bufio.NewReader(io.LimitReader(storage.CanonicalReader(f, false), maxHeader))
	var out []byte
	inLine := false // the previous read ended mid-line
	for {
		line, err := br.ReadSlice('\n')
		out = append(out, line...)
		if err == bufio.ErrBufferFull {
			inLine = true
			continue
		}
		if err != nil || (!inLine && len(bytes.TrimRight(line, "\r\n")) == 0) {
			return out, nil
		}
		inLine = false
	}
}

func readHeader(f *os.File) (textproto.Header, error) {
	hdr, err := headerBytes(f)
	if err != nil {
		return textproto.Header{}, err
	}
	return textproto.ReadHeader(bufio.NewReader(bytes.NewReader(hdr)))
}

// openMessage opens a message the command already has the index entry of.
func (s *session) openMessage(m storage.Message) (*os.File, error) {
	return s.acct.OpenMessage(s.ctx(), s.sel.name, m)
}
