package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxResponse bounds one response (line plus literals): a server that
// sends more is broken, and the runner must not grow without bound.
const maxResponse = 8 << 20

// literalAtEnd matches a literal or literal8 announcement ending a line:
// RFC 3501 §4.3 "{" number "}" CRLF, RFC 3516 §4.2 "~{" number "}".
var literalAtEnd = regexp.MustCompile(`~?\{(\d+)\+?\}$`)

// readResponse reads one whole server response: a line, and when the
// line ends with a literal announcement, the literal's bytes and the rest
// of the response after it, as often as literals follow. The result keeps
// the literals' bytes and the CRLFs inside the response, but not the final
// CRLF. RFC 3501 §4.3, §7.
func readResponse(r *bufio.Reader) (string, error) {
	var b bytes.Buffer
	for {
		line, err := readLine(r, maxResponse-b.Len())
		if err != nil {
			return b.String(), err
		}
		b.WriteString(line)
		m := literalAtEnd.FindStringSubmatch(line)
		if m == nil {
			return b.String(), nil
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n > maxResponse-b.Len() {
			return b.String(), fmt.Errorf("literal of %s bytes is over the limit", m[1])
		}
		b.WriteString("\r\n")
		if _, err := io.CopyN(&b, r, int64(n)); err != nil {
			return b.String(), fmt.Errorf("literal cut short: %w", err)
		}
	}
}

// readLine reads up to CRLF (a bare LF is accepted too) and returns the
// line without it; a line longer than limit is an error.
func readLine(r *bufio.Reader, limit int) (string, error) {
	var b []byte
	for {
		frag, err := r.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > limit {
			return "", errors.New("response line over the limit")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return string(b), err
		}
		b = bytes.TrimSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		return string(b), nil
	}
}

// resp is one command and everything the server answered to it.
type resp struct {
	cmd      string   // as sent, tag included, literals' bytes included
	untagged []string // "* ..." and "+ ..." responses, in order
	tagged   string   // the tagged completion ("" if none came)
	status   string   // OK, NO, BAD (or BYE when the server hung up)
	err      error    // I/O error or timeout
}

// has reports whether some untagged response matches the regular
// expression (case-insensitive unless the pattern says otherwise).
func (r *resp) has(pattern string) bool { return r.find(pattern) != "" }

// find returns the first untagged response matching the pattern.
func (r *resp) find(pattern string) string {
	re := regexp.MustCompile("(?is)" + pattern)
	for _, u := range r.untagged {
		if re.MatchString(u) {
			return u
		}
	}
	return ""
}

// all returns the untagged responses matching the pattern.
func (r *resp) all(pattern string) []string {
	re := regexp.MustCompile("(?is)" + pattern)
	var out []string
	for _, u := range r.untagged {
		if re.MatchString(u) {
			out = append(out, u)
		}
	}
	return out
}

// String is the exchange as the report shows it.
func (r *resp) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "C: %s\n", clip(r.cmd, 300))
	for _, u := range r.untagged {
		fmt.Fprintf(&b, "S: %s\n", clip(u, 300))
	}
	if r.tagged != "" {
		fmt.Fprintf(&b, "S: %s\n", clip(r.tagged, 300))
	}
	if r.err != nil {
		fmt.Fprintf(&b, "   (error: %v)\n", r.err)
	}
	return b.String()
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\r\n", `\r\n`)
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// conn is one raw IMAP connection.
type conn struct {
	nc       net.Conn
	r        *bufio.Reader
	w        io.Writer // nc, or a deflate writer after COMPRESS
	flush    func() error
	greeting string
	n        int
	log      *[]*resp // the check's exchanges, for the report
	timeout  time.Duration
}

// send writes data to the server (compressed after COMPRESS) and flushes.
func (c *conn) send(data []byte) error {
	if _, err := c.w.Write(data); err != nil {
		return err
	}
	if c.flush != nil {
		return c.flush()
	}
	return nil
}

// compress switches the connection to DEFLATE both ways, as after a
// tagged OK to COMPRESS DEFLATE. RFC 4978 §3, §4
func (c *conn) compress() {
	fw, _ := flate.NewWriter(c.nc, flate.DefaultCompression)
	c.w, c.flush = fw, fw.Flush
	// Bytes the server sent after the OK are already compressed; the
	// buffered reader holds none (the OK ended a response), so wrap it.
	c.r = bufio.NewReader(flate.NewReader(c.r))
}

func dial(addr string, log *[]*resp) (*conn, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, r: bufio.NewReader(nc), w: nc, log: log, timeout: 10 * time.Second}
	nc.SetDeadline(time.Now().Add(c.timeout))
	c.greeting, err = readResponse(c.r)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return c, nil
}

func (c *conn) close() { c.nc.Close() }

func (c *conn) tag() string {
	c.n++
	return fmt.Sprintf("C%03d", c.n)
}

// do sends one command line with a fresh tag and reads until its tagged
// completion. Literals in the command are sent as they are (use append
// or sendLiteral for synchronising literals).
func (c *conn) do(cmd string) *resp {
	t := c.tag()
	r := &resp{cmd: t + " " + cmd}
	*c.log = append(*c.log, r)
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	if r.err = c.send([]byte(r.cmd + "\r\n")); r.err != nil {
		return r
	}
	c.finish(r, t)
	return r
}

// finish reads responses into r until the tagged completion for tag.
func (c *conn) finish(r *resp, tag string) {
	for {
		line, err := readResponse(c.r)
		if err != nil {
			r.err = err
			if r.status == "" {
				r.status = "BYE"
			}
			return
		}
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			r.tagged = line
			r.status, _, _ = strings.Cut(rest, " ")
			r.status = strings.ToUpper(r.status)
			return
		}
		r.untagged = append(r.untagged, line)
		if strings.HasPrefix(strings.ToUpper(line), "* BYE") {
			r.status = "BYE"
		}
	}
}

// withLiteral sends a command whose last argument is a synchronising
// literal: the line up to "{n}", then, after the server's continuation,
// the bytes and the rest of the line. RFC 3501 §4.3, §7.5.
func (c *conn) withLiteral(before string, lit []byte, after string) *resp {
	t := c.tag()
	head := fmt.Sprintf("%s %s{%d}", t, before, len(lit))
	r := &resp{cmd: head + "\r\n" + clip(string(lit), 60) + after}
	*c.log = append(*c.log, r)
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	if r.err = c.send([]byte(head + "\r\n")); r.err != nil {
		return r
	}
	line, err := readResponse(c.r)
	if err != nil {
		r.err = err
		return r
	}
	if !strings.HasPrefix(line, "+") {
		// Refused before the literal: that is the tagged answer.
		r.untagged = append(r.untagged, line)
		if rest, ok := strings.CutPrefix(line, t+" "); ok {
			r.untagged = r.untagged[:len(r.untagged)-1]
			r.tagged = line
			r.status, _, _ = strings.Cut(rest, " ")
			return r
		}
		c.finish(r, t)
		return r
	}
	if r.err = c.send(append(append([]byte{}, lit...), after+"\r\n"...)); r.err != nil {
		return r
	}
	c.finish(r, t)
	return r
}

// raw sends bytes as they are (no tag added) and reads until the tagged
// completion of tag, or one response if tag is empty.
func (c *conn) raw(data, tag string) *resp {
	r := &resp{cmd: strings.TrimSuffix(data, "\r\n")}
	*c.log = append(*c.log, r)
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	if r.err = c.send([]byte(data)); r.err != nil {
		return r
	}
	if tag == "" {
		line, err := readResponse(c.r)
		r.err = err
		r.untagged = append(r.untagged, line)
		return r
	}
	c.finish(r, tag)
	return r
}

// readOne reads one response within d (for IDLE).
func (c *conn) readOne(d time.Duration) (string, error) {
	c.nc.SetDeadline(time.Now().Add(d))
	return readResponse(c.r)
}
