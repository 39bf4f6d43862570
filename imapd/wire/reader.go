package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Options bounds what a Reader accepts. Zero fields take the defaults below.
type Options struct {
	// MaxLineLength bounds the bytes of one line, literal data excluded
	// (default 65536; RFC 7162 §4 asks servers to accept at least 8192).
	MaxLineLength int
	// MaxLiteralSize bounds a literal read into memory as a string argument
	// (default 65536). Streamed literals (APPEND) have their own bound, given
	// to ReadLiteral.
	MaxLiteralSize int64
	// MaxCommandSize bounds the bytes of one command: all its lines and its
	// in-memory literals (default 1 MiB). It also bounds how much Skip
	// discards before it gives up with a fatal error.
	MaxCommandSize int64
	// MaxDepth bounds the nesting of parenthesised lists and search keys
	// (default 32).
	MaxDepth int
	// LiteralMinus restricts non-synchronising literals to 4096 bytes
	// (RFC 7888 §4, LITERAL-). Without it {n+} is accepted up to the size
	// limits (LITERAL+).
	LiteralMinus bool
	// Continue is called before the data of a synchronising literal {n} is
	// read; it must send "+ ..." and flush (RFC 9051 §7.5). It is not
	// called for {n+}. A nil Continue sends nothing (tests).
	Continue func() error
}

const (
	defaultMaxLine    = 64 << 10
	defaultMaxLiteral = 64 << 10
	defaultMaxCommand = 1 << 20
	defaultMaxDepth   = 32
	// literalMinusMax is the largest non-synchronising literal allowed
	// under LITERAL- (RFC 7888 §4).
	literalMinusMax = 4096
)

// Reader reads IMAP commands from a client. It is not safe for concurrent
// use. Methods follow the grammar left to right: the caller reads the tag
// and name with ReadCommand, then each argument with the typed readers, and
// ends with ReadCRLF. On a *SyntaxError the caller answers BAD and calls
// Skip before reading the next command.
type Reader struct {
	br   *bufio.Reader
	opts Options
	utf8 bool

	lineLen int   // bytes on the current line
	cmdLen  int64 // bytes of the current command
	atStart bool  // the previous command ended; nothing to skip
	depth   int   // current nesting depth

	// pending counts bytes of a literal the caller has not consumed (a
	// streamed literal left unread, or a rejected non-synchronising one);
	// they are discarded before anything else is read.
	pending int64
}

// NewReader returns a Reader over r with the given limits.
func NewReader(r io.Reader, opts Options) *Reader {
	if opts.MaxLineLength <= 0 {
		opts.MaxLineLength = defaultMaxLine
	}
	if opts.MaxLiteralSize <= 0 {
		opts.MaxLiteralSize = defaultMaxLiteral
	}
	if opts.MaxCommandSize <= 0 {
		opts.MaxCommandSize = defaultMaxCommand
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = defaultMaxDepth
	}
	return &Reader{br: bufio.NewReaderSize(r, 4096), opts: opts, atStart: true}
}

// SetUTF8 switches mailbox names and quoted strings to UTF-8 (RFC 9051
// IMAP4rev2, RFC 6855 UTF8=ACCEPT): mailbox names are then not decoded
// from modified UTF-7 and quoted strings may carry UTF-8.
func (r *Reader) SetUTF8(on bool) { r.utf8 = on }

// drain discards the unread rest of a streamed literal.
func (r *Reader) drain() error {
	if r.pending == 0 {
		return nil
	}
	n, err := io.CopyN(io.Discard, r.br, r.pending)
	r.pending -= n
	if err != nil {
		return ioErr(err)
	}
	return nil
}

// ioErr turns an EOF in the middle of a command into io.ErrUnexpectedEOF.
func ioErr(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (r *Reader) peek() (byte, error) {
	if err := r.drain(); err != nil {
		return 0, err
	}
	b, err := r.br.Peek(1)
	if err != nil {
		return 0, ioErr(err)
	}
	return b[0], nil
}

func (r *Reader) readByte() (byte, error) {
	if err := r.drain(); err != nil {
		return 0, err
	}
	c, err := r.br.ReadByte()
	if err != nil {
		return 0, ioErr(err)
	}
	r.atStart = false
	r.cmdLen++
	if c == '\n' {
		r.lineLen = 0
	} else {
		r.lineLen++
		if r.lineLen > r.opts.MaxLineLength {
			return 0, limitErr("line longer than %d bytes", r.opts.MaxLineLength)
		}
	}
	if r.cmdLen > r.opts.MaxCommandSize {
		return 0, limitErr("command longer than %d bytes", r.opts.MaxCommandSize)
	}
	return c, nil
}

// expect reads one byte and fails unless it is c.
func (r *Reader) expect(c byte, what string) error {
	b, err := r.peek()
	if err != nil {
		return err
	}
	if b != c {
		return syntaxErr("expected %s", what)
	}
	_, err = r.readByte()
	return err
}

// Peek returns the next byte without consuming it.
func (r *Reader) Peek() (byte, error) { return r.peek() }

// ReadSP reads a single space.
func (r *Reader) ReadSP() error { return r.expect(' ', "SP") }

// MaybeSP reads a space if one follows and reports whether it did.
func (r *Reader) MaybeSP() (bool, error) {
	b, err := r.peek()
	if err != nil || b != ' ' {
		return false, err
	}
	_, err = r.readByte()
	return true, err
}

// MaybeByte reads c if it follows and reports whether it did.
func (r *Reader) MaybeByte(c byte) (bool, error) {
	b, err := r.peek()
	if err != nil || b != c {
		return false, err
	}
	_, err = r.readByte()
	return true, err
}

// ReadCRLF reads the CRLF that ends a command. RFC 9051 §2.2 requires CR;
// a bare LF is refused.
func (r *Reader) ReadCRLF() error {
	if err := r.expect('\r', "CRLF"); err != nil {
		return err
	}
	if err := r.expect('\n', "CRLF"); err != nil {
		return err
	}
	r.endCommand()
	return nil
}

func (r *Reader) endCommand() {
	r.atStart = true
	r.cmdLen = 0
	r.lineLen = 0
	r.depth = 0
}

// ReadCommand reads the tag, SP and the command name (upper-cased) of the
// next command (RFC 9051 §9 "command", "tag"). It returns io.EOF if the
// client closed the connection between commands.
func (r *Reader) ReadCommand() (tag, name string, err error) {
	if !r.atStart {
		r.endCommand()
	}
	if err := r.drain(); err != nil {
		return "", "", err
	}
	if _, err := r.br.Peek(1); err != nil {
		return "", "", err // io.EOF between commands stays io.EOF
	}
	r.atStart = false
	tag, err = r.ReadTag()
	if err != nil {
		return "", "", err
	}
	if err := r.ReadSP(); err != nil {
		return tag, "", err
	}
	name, err = r.ReadAtom()
	if err != nil {
		return tag, "", err
	}
	return tag, strings.ToUpper(name), nil
}

// Character classes, RFC 9051 §9.

func isCTL(c byte) bool { return c < 0x20 || c == 0x7f }

// isAtomChar reports ATOM-CHAR: any CHAR except atom-specials.
func isAtomChar(c byte) bool {
	if c >= 0x80 || isCTL(c) {
		return false
	}
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// isAStringChar reports ASTRING-CHAR = ATOM-CHAR / resp-specials.
func isAStringChar(c byte) bool { return isAtomChar(c) || c == ']' }

// isTagChar reports the characters of a tag: ASTRING-CHAR except "+".
func isTagChar(c byte) bool { return isAStringChar(c) && c != '+' }

func (r *Reader) readWhile(ok func(byte) bool, what string) (string, error) {
	var sb strings.Builder
	for {
		c, err := r.peek()
		if err != nil {
			return "", err
		}
		if !ok(c) {
			break
		}
		if _, err := r.readByte(); err != nil {
			return "", err
		}
		sb.WriteByte(c)
	}
	if sb.Len() == 0 {
		return "", syntaxErr("expected %s", what)
	}
	return sb.String(), nil
}

// ReadTag reads a tag (RFC 9051 §9 "tag").
func (r *Reader) ReadTag() (string, error) { return r.readWhile(isTagChar, "tag") }

// ReadAtom reads an atom.
func (r *Reader) ReadAtom() (string, error) { return r.readWhile(isAtomChar, "atom") }

// ReadAString reads an astring: 1*ASTRING-CHAR or a string.
func (r *Reader) ReadAString() (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	if c == '"' || c == '{' {
		return r.ReadString()
	}
	return r.readWhile(isAStringChar, "astring")
}

// ReadString reads a quoted string or a literal (RFC 9051 §9 "string").
// Literals are bounded by Options.MaxLiteralSize and may not contain NUL.
func (r *Reader) ReadString() (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	switch c {
	case '"':
		return r.readQuoted()
	case '{':
		b, err := r.readLiteralBytes(false)
		return string(b), err
	}
	return "", syntaxErr("expected string")
}

// ReadNString reads a string or NIL; ok is false for NIL.
func (r *Reader) ReadNString() (s string, ok bool, err error) {
	c, err := r.peek()
	if err != nil {
		return "", false, err
	}
	if c == 'N' || c == 'n' {
		a, err := r.ReadAtom()
		if err != nil {
			return "", false, err
		}
		if !strings.EqualFold(a, "NIL") {
			return "", false, syntaxErr("expected NIL or string")
		}
		return "", false, nil
	}
	s, err = r.ReadString()
	return s, err == nil, err
}

func (r *Reader) readQuoted() (string, error) {
	if err := r.expect('"', "quoted string"); err != nil {
		return "", err
	}
	var b []byte
	for {
		c, err := r.readByte()
		if err != nil {
			return "", err
		}
		switch {
		case c == '"':
			if !r.utf8 && !isASCII(b) {
				return "", syntaxErr("8-bit data in quoted string")
			}
			if r.utf8 && !utf8.Valid(b) {
				return "", syntaxErr("invalid UTF-8 in quoted string")
			}
			return string(b), nil
		case c == '\\':
			c, err = r.readByte()
			if err != nil {
				return "", err
			}
			if c != '"' && c != '\\' {
				return "", syntaxErr("bad escape in quoted string")
			}
		case c == '\r' || c == '\n' || c == 0:
			return "", syntaxErr("CR, LF or NUL in quoted string")
		}
		b = append(b, c)
	}
}

// literalHeader is the announcement "{n}", "{n+}", "~{n}" or "~{n+}".
type literalHeader struct {
	size   int64
	sync   bool
	binary bool // literal8, RFC 3516 §4.1
}

// readLiteralHeader reads a literal announcement and the CRLF after it.
func (r *Reader) readLiteralHeader(allowBinary bool) (literalHeader, error) {
	var h literalHeader
	c, err := r.peek()
	if err != nil {
		return h, err
	}
	if c == '~' {
		if !allowBinary {
			return h, syntaxErr("literal8 not allowed here")
		}
		h.binary = true
		if _, err := r.readByte(); err != nil {
			return h, err
		}
	}
	if err := r.expect('{', "literal"); err != nil {
		return h, err
	}
	n, err := r.readNumber(1<<63 - 1)
	if err != nil {
		return h, err
	}
	h.size = int64(n)
	h.sync = true
	if plus, err := r.MaybeByte('+'); err != nil {
		return h, err
	} else if plus {
		h.sync = false
	}
	if err := r.expect('}', "'}'"); err != nil {
		return h, err
	}
	if err := r.expect('\r', "CRLF after literal"); err != nil {
		return h, err
	}
	if err := r.expect('\n', "CRLF after literal"); err != nil {
		return h, err
	}
	return h, nil
}

// acceptLiteral checks a literal of h.size against max and, for a
// synchronising literal, asks the client to send it. On a refusal it leaves
// the reader where Skip can resynchronise.
func (r *Reader) acceptLiteral(h literalHeader, max int64, inMemory bool) error {
	tooBig := h.size > max
	if inMemory && r.cmdLen+h.size > r.opts.MaxCommandSize {
		tooBig = true
	}
	if !h.sync && r.opts.LiteralMinus && h.size > literalMinusMax {
		// RFC 7888 §4: the client sent it anyway; discard and answer BAD.
		r.pending = h.size
		return limitErr("non-synchronizing literal larger than %d bytes", literalMinusMax)
	}
	if tooBig {
		if h.sync {
			// The client waits for "+": nothing more of this command comes.
			r.atStart = true
		} else {
			r.pending = h.size
		}
		return limitErr("literal of %d bytes exceeds limit of %d", h.size, max)
	}
	if h.sync && r.opts.Continue != nil {
		if err := r.opts.Continue(); err != nil {
			return err
		}
	}
	return nil
}

// readLiteralBytes reads a literal into memory in chunks, never allocating
// the announced size before the data arrives.
func (r *Reader) readLiteralBytes(allowBinary bool) ([]byte, error) {
	h, err := r.readLiteralHeader(allowBinary)
	if err != nil {
		return nil, err
	}
	if err := r.acceptLiteral(h, r.opts.MaxLiteralSize, true); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r.br, h.size))
	r.cmdLen += n
	if err != nil {
		return nil, err
	}
	if n < h.size {
		return nil, io.ErrUnexpectedEOF
	}
	b := buf.Bytes()
	if !h.binary && bytes.IndexByte(b, 0) >= 0 {
		return nil, syntaxErr("NUL in literal")
	}
	return b, nil
}

// Literal is a literal streamed from the connection (APPEND message data).
// It must be read before the next call on the Reader, or its rest is
// discarded then.
type Literal struct {
	r    *Reader
	Size int64
	// Binary reports a literal8 "~{n}" (RFC 3516 §4.1, may contain NUL).
	Binary bool
}

// Read reads literal data.
func (l *Literal) Read(p []byte) (int, error) {
	if l.r.pending == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.r.pending {
		p = p[:l.r.pending]
	}
	n, err := l.r.br.Read(p)
	l.r.pending -= int64(n)
	if err != nil {
		return n, ioErr(err)
	}
	return n, nil
}

// ReadLiteral reads the announcement of a literal or literal8 of at most
// max bytes and returns a reader over its data, which is not buffered: the
// caller streams it (to a temp file for APPEND). A literal over max is a
// *SyntaxError with code TOOBIG.
func (r *Reader) ReadLiteral(max int64) (*Literal, error) {
	h, err := r.readLiteralHeader(true)
	if err != nil {
		return nil, err
	}
	if err := r.acceptLiteral(h, max, false); err != nil {
		return nil, err
	}
	r.pending = h.size
	return &Literal{r: r, Size: h.size, Binary: h.binary}, nil
}

// readNumber reads 1*DIGIT with a value at most max.
func (r *Reader) readNumber(max uint64) (uint64, error) {
	var n uint64
	digits := 0
	for {
		c, err := r.peek()
		if err != nil {
			return 0, err
		}
		if c < '0' || c > '9' {
			break
		}
		if _, err := r.readByte(); err != nil {
			return 0, err
		}
		d := uint64(c - '0')
		if n > (max-d)/10 {
			return 0, syntaxErr("number too large")
		}
		n = n*10 + d
		digits++
	}
	if digits == 0 {
		return 0, syntaxErr("expected number")
	}
	return n, nil
}

// ReadNumber reads a number (RFC 9051 §9 "number": 32-bit unsigned).
func (r *Reader) ReadNumber() (uint32, error) {
	n, err := r.readNumber(1<<32 - 1)
	return uint32(n), err
}

// ReadNzNumber reads a non-zero number.
func (r *Reader) ReadNzNumber() (uint32, error) {
	n, err := r.ReadNumber()
	if err == nil && n == 0 {
		return 0, syntaxErr("expected non-zero number")
	}
	return n, err
}

// ReadNumber64 reads a number64 (RFC 9051 §9: 63-bit, used for sizes).
func (r *Reader) ReadNumber64() (int64, error) {
	n, err := r.readNumber(1<<63 - 1)
	return int64(n), err
}

// ReadModSeq reads a mod-sequence-value (RFC 7162 §7: 1*DIGIT, 63-bit).
func (r *Reader) ReadModSeq() (uint64, error) {
	return r.readNumber(1<<63 - 1)
}

// ReadList reads "(" [item *(SP item)] ")", calling item for each element.
// Nesting is bounded by Options.MaxDepth.
func (r *Reader) ReadList(item func() error) error {
	if err := r.expect('(', "'('"); err != nil {
		return err
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.leave()
	if ok, err := r.MaybeByte(')'); err != nil || ok {
		return err
	}
	for {
		if err := item(); err != nil {
			return err
		}
		c, err := r.readByte()
		if err != nil {
			return err
		}
		switch c {
		case ')':
			return nil
		case ' ':
		default:
			return syntaxErr("expected SP or ')' in list")
		}
	}
}

func (r *Reader) enter() error {
	r.depth++
	if r.depth > r.opts.MaxDepth {
		return limitErr("nesting deeper than %d", r.opts.MaxDepth)
	}
	return nil
}

func (r *Reader) leave() { r.depth-- }

// ReadLine reads the rest of a line up to CRLF (AUTHENTICATE responses,
// RFC 9051 §6.2.2), bounded by Options.MaxLineLength.
func (r *Reader) ReadLine() (string, error) {
	var sb strings.Builder
	for {
		c, err := r.readByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			s := sb.String()
			if !strings.HasSuffix(s, "\r") {
				return "", syntaxErr("line without CR")
			}
			r.endCommand()
			return s[:len(s)-1], nil
		}
		sb.WriteByte(c)
	}
}

// Skip discards the rest of the current command after an error, including
// the data of non-synchronising literals announced on its lines, so the
// next ReadCommand starts on a fresh command. A synchronising literal at
// the end of a line ends the command: the client waits for "+", which it
// does not get. Skip discards at most Options.MaxCommandSize bytes; beyond
// that, or when a literal cannot be discarded, it returns a fatal
// *SyntaxError and the connection must be closed.
func (r *Reader) Skip() error {
	if r.atStart {
		r.pending = 0 // nothing was announced that the client will send
		r.endCommand()
		return nil
	}
	budget := r.opts.MaxCommandSize
	discard := func(n int64) error {
		if n > budget {
			return &SyntaxError{Msg: "too much data to discard", Code: "TOOBIG", Fatal: true}
		}
		budget -= n
		if _, err := io.CopyN(io.Discard, r.br, n); err != nil {
			return ioErr(err)
		}
		return nil
	}
	if r.pending > 0 {
		n := r.pending
		r.pending = 0
		if err := discard(n); err != nil {
			return err
		}
	}
	var tail [24]byte // the end of the line, to find a literal announcement
	tn := 0
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			return ioErr(err)
		}
		budget--
		if budget < 0 {
			return &SyntaxError{Msg: "too much data to discard", Code: "TOOBIG", Fatal: true}
		}
		if c != '\n' {
			if tn == len(tail) {
				copy(tail[:], tail[1:])
				tn--
			}
			tail[tn] = c
			tn++
			continue
		}
		size, sync, ok := literalAtEnd(tail[:tn])
		tn = 0
		if !ok || sync {
			r.endCommand()
			return nil
		}
		if err := discard(size); err != nil {
			return err
		}
	}
}

// literalAtEnd finds "{n}" or "{n+}" (optionally with CR) at the end of b.
func literalAtEnd(b []byte) (size int64, sync, ok bool) {
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) < 3 || b[len(b)-1] != '}' {
		return 0, false, false
	}
	i := bytes.LastIndexByte(b, '{')
	if i < 0 {
		return 0, false, false
	}
	num := b[i+1 : len(b)-1]
	sync = true
	if len(num) > 0 && num[len(num)-1] == '+' {
		sync = false
		num = num[:len(num)-1]
	}
	if len(num) == 0 {
		return 0, false, false
	}
	if len(num) > 18 {
		// Too large for any budget: fatal unless the client waits for "+".
		return 1 << 62, sync, true
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		return 0, false, false
	}
	return n, sync, true
}

// IsSyntax reports whether err is a *SyntaxError.
func IsSyntax(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
