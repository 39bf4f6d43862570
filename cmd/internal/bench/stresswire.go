package main

// The stress client reads the server's bytes itself (no imapclient) so
// that it sees every response as sent: literal lengths, the order of
// untagged data, and anything malformed, which a library would hide or
// die on.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits on what one response may hold; beyond them the response is
// malformed (and the connection is dropped, since it cannot be resynced).
const (
	maxLineBytes    = 1 << 20
	maxLiteralBytes = 64 << 20
	maxLiterals     = 10000
)

// errMalformed marks a response that does not parse; the text says why.
var errMalformed = errors.New("malformed response")

// wireLine is one response as read: its text with every literal's bytes
// cut out (the {n} marker stays), and the literals in order.
type wireLine struct {
	text     string
	literals [][]byte
}

// readWireLine reads one response line, following literals (RFC 9051
// §4.3: a line ending in {n} continues after n bytes).
func readWireLine(r *bufio.Reader) (wireLine, error) {
	var wl wireLine
	var text bytes.Buffer
	for {
		line, err := r.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			if text.Len()+len(line) > maxLineBytes {
				return wl, fmt.Errorf("%w: line over %d bytes", errMalformed, maxLineBytes)
			}
			text.Write(line)
			line, err = r.ReadSlice('\n')
		}
		if err != nil {
			return wl, err
		}
		if text.Len()+len(line) > maxLineBytes {
			return wl, fmt.Errorf("%w: line over %d bytes", errMalformed, maxLineBytes)
		}
		if !bytes.HasSuffix(line, []byte("\r\n")) {
			return wl, fmt.Errorf("%w: bare LF in %q", errMalformed, trunc(string(line), 120))
		}
		line = line[:len(line)-2]
		text.Write(line)
		n, ok := literalSuffix(line)
		if !ok {
			break
		}
		if n > maxLiteralBytes || len(wl.literals) >= maxLiterals {
			return wl, fmt.Errorf("%w: literal of %d bytes", errMalformed, n)
		}
		lit := make([]byte, n)
		if _, err := io.ReadFull(r, lit); err != nil {
			return wl, err
		}
		wl.literals = append(wl.literals, lit)
	}
	wl.text = text.String()
	return wl, nil
}

// literalSuffix reports whether line ends in {n} (or {n+}) and n.
func literalSuffix(line []byte) (int, bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	num := strings.TrimSuffix(string(line[i+1:len(line)-1]), "+")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// value is one parsed item: an atom (including NIL and numbers), a
// string (quoted or literal), or a parenthesised list.
type value struct {
	atom   string
	str    []byte
	isStr  bool
	list   []value
	isList bool
}

func (v value) String() string {
	switch {
	case v.isList:
		parts := make([]string, len(v.list))
		for i, x := range v.list {
			parts[i] = x.String()
		}
		return "(" + strings.Join(parts, " ") + ")"
	case v.isStr:
		return strconv.Quote(trunc(string(v.str), 40))
	}
	return v.atom
}

// tokenizer walks a wireLine's text, taking literals in order.
type tokenizer struct {
	s    string
	pos  int
	lits [][]byte
}

func (t *tokenizer) skipSpace() {
	for t.pos < len(t.s) && t.s[t.pos] == ' ' {
		t.pos++
	}
}

func (t *tokenizer) done() bool { t.skipSpace(); return t.pos >= len(t.s) }

// rest returns the unparsed text.
func (t *tokenizer) rest() string { t.skipSpace(); return t.s[t.pos:] }

func (t *tokenizer) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at byte %d of %q", errMalformed, fmt.Sprintf(format, args...), t.pos, trunc(t.s, 160))
}

// next parses one value; depth bounds nesting.
func (t *tokenizer) next(depth int) (value, error) {
	t.skipSpace()
	if t.pos >= len(t.s) {
		return value{}, t.errorf("unexpected end")
	}
	if depth > 64 {
		return value{}, t.errorf("lists nested too deep")
	}
	switch c := t.s[t.pos]; c {
	case '(':
		t.pos++
		v := value{isList: true}
		for {
			t.skipSpace()
			if t.pos >= len(t.s) {
				return v, t.errorf("unclosed list")
			}
			if t.s[t.pos] == ')' {
				t.pos++
				return v, nil
			}
			x, err := t.next(depth + 1)
			if err != nil {
				return v, err
			}
			v.list = append(v.list, x)
		}
	case ')':
		return value{}, t.errorf("unexpected )")
	case '"':
		t.pos++
		var b []byte
		for t.pos < len(t.s) {
			c := t.s[t.pos]
			t.pos++
			switch c {
			case '\\':
				if t.pos >= len(t.s) {
					return value{}, t.errorf("unterminated quoted string")
				}
				b = append(b, t.s[t.pos])
				t.pos++
			case '"':
				return value{str: b, isStr: true}, nil
			default:
				b = append(b, c)
			}
		}
		return value{}, t.errorf("unterminated quoted string")
	case '{':
		end := strings.IndexByte(t.s[t.pos:], '}')
		if end < 0 || len(t.lits) == 0 {
			return value{}, t.errorf("bad literal")
		}
		t.pos += end + 1
		lit := t.lits[0]
		t.lits = t.lits[1:]
		return value{str: lit, isStr: true}, nil
	}
	// Atom; a [...] section (BODY[HEADER.FIELDS (A B)]) and a <n>
	// partial belong to it.
	start := t.pos
	for t.pos < len(t.s) {
		c := t.s[t.pos]
		if c == ' ' || c == '(' || c == ')' {
			break
		}
		if c == '[' {
			end := strings.IndexByte(t.s[t.pos:], ']')
			if end < 0 {
				return value{}, t.errorf("unclosed [")
			}
			t.pos += end + 1
			continue
		}
		if c < 0x20 || c == 0x7f || c == '"' || c == '{' {
			return value{}, t.errorf("byte %q in atom", c)
		}
		t.pos++
	}
	if t.pos == start {
		return value{}, t.errorf("empty atom")
	}
	return value{atom: t.s[start:t.pos]}, nil
}

// response is one parsed server response.
type response struct {
	tag    string // "*", "+" or the command's tag
	num    uint32 // for "* n WORD"
	hasNum bool
	word   string // upper-cased: OK NO BAD BYE PREAUTH EXISTS EXPUNGE FETCH FLAGS SEARCH ...
	code   string // response code name, upper-cased (PERMANENTFLAGS, APPENDUID ...)
	args   []value
	text   string // status text after the code
	raw    string // the line, for transcripts
}

// parseResponse turns a wireLine into a response. Status responses keep
// their code's arguments in args and the rest as text; data responses
// keep their values in args.
func parseResponse(wl wireLine) (*response, error) {
	t := &tokenizer{s: wl.text, lits: wl.literals}
	r := &response{raw: wl.text}
	sp := strings.IndexByte(wl.text, ' ')
	if sp < 0 {
		if wl.text == "+" {
			r.tag = "+"
			return r, nil
		}
		return nil, t.errorf("no space")
	}
	r.tag = wl.text[:sp]
	t.pos = sp + 1
	if r.tag == "+" {
		r.text = t.rest()
		return r, nil
	}
	w, err := t.next(0)
	if err != nil || w.atom == "" {
		return nil, t.errorf("no response word")
	}
	if r.tag == "*" {
		if n, err := strconv.ParseUint(w.atom, 10, 32); err == nil {
			r.num, r.hasNum = uint32(n), true
			w, err = t.next(0)
			if err != nil || w.atom == "" {
				return nil, t.errorf("no word after number")
			}
		}
	}
	r.word = strings.ToUpper(w.atom)
	switch r.word {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		if r.hasNum {
			return nil, t.errorf("number before %s", r.word)
		}
		t.skipSpace()
		if t.pos < len(t.s) && t.s[t.pos] == '[' {
			end := strings.IndexByte(t.s[t.pos:], ']')
			if end < 0 {
				return nil, t.errorf("unclosed response code")
			}
			ct := &tokenizer{s: t.s[t.pos+1 : t.pos+end], lits: t.lits}
			name, err := ct.next(0)
			if err != nil || name.atom == "" {
				return nil, t.errorf("bad response code")
			}
			r.code = strings.ToUpper(name.atom)
			for !ct.done() {
				v, err := ct.next(0)
				if err != nil {
					return nil, err
				}
				r.args = append(r.args, v)
			}
			t.pos += end + 1
		}
		r.text = t.rest()
		return r, nil
	}
	if r.tag != "*" {
		return nil, t.errorf("tagged %s", r.word)
	}
	for !t.done() {
		v, err := t.next(0)
		if err != nil {
			return nil, err
		}
		r.args = append(r.args, v)
	}
	return r, nil
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
