package imapd

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"sync"

	"github.com/emersion/go-message/textproto"

	"yubin/storage"
)

// wireReader reads a message file as IMAP sends it: CRLF line ends. The
// reader comes from a pool (a SEARCH BODY over 10,000 messages would
// otherwise allocate 10,000 buffers); give it back with unwire.
func wireReader(f *os.File) *bufio.Reader {
	r := wirePool.Get().(*bufio.Reader)
	r.Reset(storage.CanonicalReader(f, false))
	return r
}

func unwire(r *bufio.Reader) {
	r.Reset(nil)
	wirePool.Put(r)
}

var wirePool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

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

// readHeader parses a message file's header.
func readHeader(f *os.File) (textproto.Header, error) {
	hdr, err := headerBytes(f)
	if err != nil {
		return textproto.Header{}, err
	}
	return textproto.ReadHeader(bufio.NewReader(bytes.NewReader(hdr)))
}
