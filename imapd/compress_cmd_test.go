package imapd

import (
	"strconv"
	"strings"
	"testing"
)

// until reads decompressed lines up to the one tagged tag.
func (p *deflatePeer) until(t *testing.T, tag string) ([]string, string) {
	t.Helper()
	var u []string
	for {
		l := strings.TrimRight(p.readLine(t), "\r\n")
		if strings.HasPrefix(l, tag+" ") {
			return u, strings.TrimPrefix(l, tag+" ")
		}
		u = append(u, l)
	}
}

// TestCompress: after COMPRESS DEFLATE the session goes on compressed
// both ways (a Go client doing compress/flate on its side), a second
// COMPRESS is NO [COMPRESSIONACTIVE], and an unknown algorithm is BAD.
func TestCompress(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	c.must("COMPRESS LZW", "BAD")
	c.must("NOOP", "OK") // still uncompressed
	c.send("Z COMPRESS DEFLATE")
	if l := c.line(); !strings.HasPrefix(l, "Z OK") {
		t.Fatalf("COMPRESS: %q", l)
	}
	if c.r.Buffered() != 0 {
		t.Fatalf("data after the OK of COMPRESS came uncompressed")
	}
	p := newDeflatePeer(c.conn)
	p.send(t, "A LIST \"\" INBOX\r\n")
	if u, st := p.until(t, "A"); !strings.HasPrefix(st, "OK") || len(u) != 1 || u[0] != `* LIST (\HasNoChildren) "/" INBOX` {
		t.Errorf("LIST over DEFLATE: %q %s", u, st)
	}
	body := strings.Repeat("compressible line\r\n", 200)
	p.send(t, "B APPEND INBOX {"+strconv.Itoa(len(body))+"+}\r\n"+body+"\r\n")
	if _, st := p.until(t, "B"); !strings.HasPrefix(st, "OK [APPENDUID") {
		t.Errorf("APPEND over DEFLATE: %s", st)
	}
	p.send(t, "C COMPRESS DEFLATE\r\n")
	if _, st := p.until(t, "C"); !strings.HasPrefix(st, "NO [COMPRESSIONACTIVE]") {
		t.Errorf("second COMPRESS: %s", st)
	}
	p.send(t, "D LOGOUT\r\n")
	if _, st := p.until(t, "D"); !strings.HasPrefix(st, "OK") {
		t.Errorf("LOGOUT: %s", st)
	}
}

// TestCompressPipelined: a command sent behind COMPRESS before its OK
// is refused and the connection closed (RFC 4978 §3).
func TestCompressPipelined(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	c.send("Z COMPRESS DEFLATE\r\nA NOOP")
	if l := c.line(); l != "Z BAD Data after COMPRESS" {
		t.Errorf("pipelined COMPRESS: %q", l)
	}
	if l, err := c.r.ReadString('\n'); err == nil {
		t.Errorf("after a refused COMPRESS: %q, want the connection closed", l)
	}
}
