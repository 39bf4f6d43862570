package wire

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

// Writer encodes IMAP responses (RFC 9051 §7, §9 "response"). Output is
// buffered until Flush. Methods return the Writer so a response reads
// left to right:
//
//	w.Untagged().Number(23).SP().Atom("EXISTS").CRLF()
//
// The first write error sticks: later calls do nothing, and Flush and Err
// return it. A Writer is not safe for concurrent use.
type Writer struct {
	bw   *bufio.Writer
	err  error
	utf8 bool
}

// NewWriter returns a Writer buffering into w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 4096)}
}

// SetUTF8 lets quoted strings carry UTF-8 and writes mailbox names in
// UTF-8 instead of modified UTF-7 (IMAP4rev2, RFC 6855 UTF8=ACCEPT).
func (w *Writer) SetUTF8(on bool) { w.utf8 = on }

// Err returns the first write error.
func (w *Writer) Err() error { return w.err }

// Flush writes buffered output to the connection.
func (w *Writer) Flush() error {
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.err
}

func (w *Writer) raw(s string) *Writer {
	if w.err == nil {
		_, w.err = w.bw.WriteString(s)
	}
	return w
}

func (w *Writer) rawBytes(b []byte) *Writer {
	if w.err == nil {
		_, w.err = w.bw.Write(b)
	}
	return w
}

// Untagged starts an untagged response: "* ".
func (w *Writer) Untagged() *Writer { return w.raw("* ") }

// Tagged starts a tagged response: the tag and SP.
func (w *Writer) Tagged(tag string) *Writer { return w.raw(tag).raw(" ") }

// SP writes a space.
func (w *Writer) SP() *Writer { return w.raw(" ") }

// CRLF ends a response line.
func (w *Writer) CRLF() *Writer { return w.raw("\r\n") }

// Atom writes s as it is: the caller's keyword, flag or atom. Use AString
// or String for data.
func (w *Writer) Atom(s string) *Writer { return w.raw(s) }

// NIL writes NIL.
func (w *Writer) NIL() *Writer { return w.raw("NIL") }

// Number writes a number.
func (w *Writer) Number(n uint32) *Writer { return w.raw(strconv.FormatUint(uint64(n), 10)) }

// Number64 writes a number64 or mod-sequence value.
func (w *Writer) Number64(n uint64) *Writer { return w.raw(strconv.FormatUint(n, 10)) }

// BeginList writes "(".
func (w *Writer) BeginList() *Writer { return w.raw("(") }

// EndList writes ")".
func (w *Writer) EndList() *Writer { return w.raw(")") }

// Continuation writes a continuation request "+ text" CRLF (RFC 9051
// §7.5) and flushes, since the client waits for it.
func (w *Writer) Continuation(text string) error {
	if text == "" {
		text = "Ready"
	}
	w.raw("+ ").raw(sanitizeText(text)).CRLF()
	return w.Flush()
}

// sanitizeText makes s fit resp-text: no CR, LF or NUL.
func sanitizeText(s string) string {
	if !strings.ContainsAny(s, "\r\n\x00") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
}

// Status writes a status response (RFC 9051 §7.1): tag ("*" when empty),
// type, optional "[code]" and text. A code with arguments is passed
// whole, e.g. "UIDVALIDITY 3857529045".
func (w *Writer) Status(tag string, typ imap.StatusResponseType, code imap.ResponseCode, text string) *Writer {
	if tag == "" {
		tag = "*"
	}
	w.raw(tag).SP().raw(string(typ)).SP()
	if code != "" {
		w.raw("[").raw(sanitizeText(string(code))).raw("] ")
	} else if strings.HasPrefix(text, "[") {
		w.raw(" ") // keep text from reading as a code
	}
	if text == "" {
		text = string(typ)
	}
	return w.raw(sanitizeText(text)).CRLF()
}

// quotable reports whether s can be sent as a quoted string: no NUL, CR
// or LF, and 7-bit unless UTF-8 is on (RFC 9051 §9 "quoted").
func (w *Writer) quotable(s string) bool {
	if len(s) > 1024 {
		return false // long text reads better as a literal
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 || c == '\r' || c == '\n' {
			return false
		}
		if c >= 0x80 && !w.utf8 {
			return false
		}
	}
	return !w.utf8 || utf8.ValidString(s)
}

// Quoted writes s as a quoted string, escaping '"' and '\'. The caller
// must know s is quotable; String chooses for itself.
func (w *Writer) Quoted(s string) *Writer {
	w.raw(`"`)
	for {
		i := strings.IndexAny(s, `"\`)
		if i < 0 {
			break
		}
		w.raw(s[:i]).raw(`\`).raw(s[i : i+1])
		s = s[i+1:]
	}
	return w.raw(s).raw(`"`)
}

// String writes s as a quoted string when it can be one, else as a
// literal. A NUL byte cannot appear in a string (RFC 9051 §4.3); use
// Binary for such data.
func (w *Writer) String(s string) *Writer {
	if w.quotable(s) {
		return w.Quoted(s)
	}
	return w.Literal([]byte(s))
}

// AString writes s as an atom when it is one (and not "NIL"), else as
// String does.
func (w *Writer) AString(s string) *Writer {
	if s != "" && !strings.EqualFold(s, "NIL") && isAStringAtom(s) {
		return w.raw(s)
	}
	return w.String(s)
}

func isAStringAtom(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAStringChar(s[i]) {
			return false
		}
	}
	return true
}

// NString writes NIL when ok is false, else s as String does.
func (w *Writer) NString(s string, ok bool) *Writer {
	if !ok {
		return w.NIL()
	}
	return w.String(s)
}

// Literal writes b as a literal "{n}" CRLF data.
func (w *Writer) Literal(b []byte) *Writer {
	w.raw("{").raw(strconv.Itoa(len(b))).raw("}\r\n")
	return w.rawBytes(b)
}

// Binary writes content of a BINARY fetch (RFC 3516 §4.2): literal8
// "~{n}" when b contains NUL, else a plain literal.
func (w *Writer) Binary(b []byte) *Writer {
	if bytes.IndexByte(b, 0) >= 0 {
		w.raw("~")
	}
	return w.Literal(b)
}

// LiteralFrom streams n bytes from r as a literal, or as a literal8 when
// binary is set. Fewer than n bytes from r is an error.
func (w *Writer) LiteralFrom(r io.Reader, n int64, binary bool) *Writer {
	if binary {
		w.raw("~")
	}
	w.raw("{").raw(strconv.FormatInt(n, 10)).raw("}\r\n")
	if w.err == nil {
		var c int64
		c, w.err = io.CopyN(w.bw, r, n)
		if w.err == io.EOF && c < n {
			w.err = io.ErrUnexpectedEOF
		}
	}
	return w
}

// Flag writes a flag. Flags are atoms or "\atom"; anything else is
// refused by the reader and never stored, so it is written as it is.
func (w *Writer) Flag(f imap.Flag) *Writer { return w.raw(string(f)) }

// Flags writes a parenthesised flag list.
func (w *Writer) Flags(flags []imap.Flag) *Writer {
	w.BeginList()
	for i, f := range flags {
		if i > 0 {
			w.SP()
		}
		w.Flag(f)
	}
	return w.EndList()
}

// Mailbox writes a mailbox name: encoded in modified UTF-7 (RFC 3501
// §5.1.3) unless UTF-8 is on, then as an astring.
func (w *Writer) Mailbox(name string) *Writer {
	if strings.EqualFold(name, "INBOX") {
		return w.raw("INBOX")
	}
	if !w.utf8 {
		name = EncodeUTF7(name)
	}
	return w.AString(name)
}

// NumSet writes a sequence set; imap.SearchRes() is written as "$". A
// nil set writes nothing: the caller must not ask for an empty set.
func (w *Writer) NumSet(set imap.NumSet) *Writer {
	if set == nil {
		return w
	}
	return w.raw(set.String())
}
