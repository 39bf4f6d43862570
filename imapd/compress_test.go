package imapd

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"yubin/imapd/inflate"
	imapwire "yubin/imapd/wire"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t testing.TB) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// deflatePeer is the client's side of COMPRESS=DEFLATE, written directly
// on compress/flate: raw DEFLATE both ways, a sync flush after each
// command.
type deflatePeer struct {
	conn net.Conn
	w    *flate.Writer
	r    *bufio.Reader
}

func newDeflatePeer(c net.Conn) *deflatePeer {
	w, _ := flate.NewWriter(c, flate.BestSpeed)
	return &deflatePeer{conn: c, w: w, r: bufio.NewReader(flate.NewReader(bufio.NewReader(c)))}
}

func (p *deflatePeer) send(t testing.TB, s string) {
	t.Helper()
	if _, err := p.w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := p.w.Flush(); err != nil {
		t.Fatal(err)
	}
}

func (p *deflatePeer) readLine(t testing.TB) string {
	t.Helper()
	// Without the server's sync flush the response would sit in its
	// compressor and this read would wait for ever: the deadline turns
	// that into a failure.
	p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := p.r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading a response: %v (got %q)", err, line)
	}
	return line
}

// echoServer answers each command line on c with "* ECHO <line>" and a
// tagged OK, one Write per response, until the connection ends.
func echoServer(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		tag, _, _ := strings.Cut(line, " ")
		if _, err := fmt.Fprintf(c, "* ECHO %s%s OK done\r\n", line, tag); err != nil {
			return
		}
	}
}

func TestDeflateConnRoundTrip(t *testing.T) {
	t.Parallel()
	server, client := tcpPair(t)
	go echoServer(deflateConn(server))
	p := newDeflatePeer(client)

	// Lock step: each response must arrive before the next command is
	// sent, which only works if every Write is flushed.
	for i := range 50 {
		cmd := fmt.Sprintf("a%d NOOP\r\n", i)
		p.send(t, cmd)
		if got := p.readLine(t); got != "* ECHO "+cmd {
			t.Fatalf("got %q", got)
		}
		if got := p.readLine(t); got != fmt.Sprintf("a%d OK done\r\n", i) {
			t.Fatalf("got %q", got)
		}
	}
	// A long command (128 KiB, more than flate's window and bufio's
	// buffer) survives both directions.
	long := "b1 " + strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", 128<<10/36) + "\r\n"
	p.send(t, long)
	if got := p.readLine(t); got != "* ECHO "+long {
		t.Fatalf("long line: got %d bytes, want %d", len(got), len(long)+7)
	}
	p.readLine(t)
}

// TestDeflateConnConcurrentWrites: a command's responses and an IDLE
// update written at once arrive whole, not interleaved.
func TestDeflateConnConcurrentWrites(t *testing.T) {
	t.Parallel()
	server, client := tcpPair(t)
	dc := deflateConn(server)
	p := newDeflatePeer(client)
	const writers, each = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				line := fmt.Sprintf("* %d FETCH (writer %d %s)\r\n", i, w, strings.Repeat("x", 100*w))
				if _, err := dc.Write([]byte(line)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := make(map[string]bool)
	for range writers * each {
		line := p.readLine(t)
		var i, w int
		if _, err := fmt.Sscanf(line, "* %d FETCH (writer %d", &i, &w); err != nil || line != fmt.Sprintf("* %d FETCH (writer %d %s)\r\n", i, w, strings.Repeat("x", 100*w)) {
			t.Fatalf("mangled line %q", line)
		}
		seen[line] = true
	}
	wg.Wait()
	if len(seen) != writers*each {
		t.Errorf("%d distinct lines", len(seen))
	}
}

// TestDeflateConnBuffered: a client that sends its first compressed
// command right behind COMPRESS (in the same packet) is understood when
// the server passes its buffered reader on.
func TestDeflateConnBuffered(t *testing.T) {
	t.Parallel()
	server, client := tcpPair(t)
	var compressed bytes.Buffer
	fw, _ := flate.NewWriter(&compressed, flate.BestSpeed)
	fw.Write([]byte("c2 NOOP\r\n"))
	fw.Flush()
	if _, err := client.Write(append([]byte("c1 COMPRESS DEFLATE\r\n"), compressed.Bytes()...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(server)
	line, err := br.ReadString('\n')
	if err != nil || line != "c1 COMPRESS DEFLATE\r\n" {
		t.Fatalf("%q %v", line, err)
	}
	if br.Buffered() == 0 {
		t.Fatal("test did not get the compressed bytes buffered")
	}
	dc := deflateConnBuffered(server, br)
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := bufio.NewReader(dc).ReadString('\n')
	if err != nil || got != "c2 NOOP\r\n" {
		t.Fatalf("%q %v", got, err)
	}
}

// TestDeflateConnCorrupt: input that is not DEFLATE is a read error, not
// a panic or a hang.
func TestDeflateConnCorrupt(t *testing.T) {
	t.Parallel()
	server, client := tcpPair(t)
	dc := deflateConn(server)
	go client.Write(bytes.Repeat([]byte{0xff}, 64))
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.ReadAll(dc)
	var ce *inflate.CorruptInputError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *inflate.CorruptInputError", err)
	}
}

// TestDeflateConnBomb sends a 64 MiB command line compressed to about
// 64 KiB. Every Read returns at most what the caller asked for, the
// command reader refuses the line at its limits, and the server
// decompresses only about as much as the limits let it read, without
// holding it.
func TestDeflateConnBomb(t *testing.T) {
	// Not parallel: it measures the heap.
	server, client := tcpPair(t)
	const expanded = 64 << 20
	go func() {
		w, _ := flate.NewWriter(client, flate.BestCompression)
		w.Write([]byte("a1 "))
		chunk := bytes.Repeat([]byte("A"), 1<<20)
		for range expanded >> 20 {
			if _, err := w.Write(chunk); err != nil {
				return // the server closed the connection
			}
		}
		w.Write([]byte("\r\n"))
		w.Close()
	}()
	dc := deflateConn(server)
	server.SetReadDeadline(time.Now().Add(30 * time.Second))
	cr := &checkedReader{r: dc}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	opts := imapwire.Options{} // the defaults: 64 KiB line, 1 MiB command
	r := imapwire.NewReader(cr, opts)
	_, _, err := r.ReadCommand()
	if err == nil {
		_, err = r.ReadAtom()
	}
	var se *imapwire.SyntaxError
	if !errors.As(err, &se) || se.Code != "TOOBIG" {
		t.Fatalf("first error = %v, want a TOOBIG syntax error", err)
	}
	err = r.Skip()
	if !errors.As(err, &se) || !se.Fatal {
		t.Fatalf("Skip = %v, want a fatal syntax error (close the connection)", err)
	}
	runtime.ReadMemStats(&after)

	if cr.overlong > 0 {
		t.Errorf("%d reads returned more than asked", cr.overlong)
	}
	// The line limit, then Skip's budget of one command size, plus what
	// the reader buffers.
	if limit := int64(64<<10 + 1<<20 + 64<<10); cr.total > limit {
		t.Errorf("decompressed %d bytes, limit %d", cr.total, limit)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("allocated %d bytes while refusing a 64 MiB line", grew)
	}
	t.Logf("decompressed %d of %d bytes; allocated %d bytes", cr.total, expanded, after.TotalAlloc-before.TotalAlloc)
}

// checkedReader counts the bytes read and the reads that returned more
// than their buffer.
type checkedReader struct {
	r        io.Reader
	total    int64
	overlong int
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > len(p) {
		c.overlong++
	}
	c.total += int64(n)
	return n, err
}

// TestDeflateConnPython talks to a client that uses zlib itself
// (python3's zlib module with raw DEFLATE, wbits -15, and Z_SYNC_FLUSH
// after each command, as RFC 4978 §4 describes).
func TestDeflateConnPython(t *testing.T) {
	t.Parallel()
	deflatePython(t, "Z_SYNC_FLUSH")
}

// TestDeflateConnPythonPartialFlush is isync's mbsync: zlib's
// Z_PARTIAL_FLUSH after each command ends the Huffman block and adds an
// empty fixed block that is not byte-aligned. compress/flate's reader
// kept the command and the client got no answer (this test timed out
// before imapd read through inflate).
func TestDeflateConnPythonPartialFlush(t *testing.T) {
	t.Parallel()
	deflatePython(t, "Z_PARTIAL_FLUSH")
}

// TestDeflateConnPythonFullFlush: Z_FULL_FLUSH, a sync flush that also
// resets the compressor's history.
func TestDeflateConnPythonFullFlush(t *testing.T) {
	t.Parallel()
	deflatePython(t, "Z_FULL_FLUSH")
}

// TestDeflateConnPythonFinish: all commands compressed without a flush,
// then Z_FINISH ends the stream with a final block; every command is
// answered.
func TestDeflateConnPythonFinish(t *testing.T) {
	t.Parallel()
	deflatePython(t, "Z_FINISH")
}

// deflatePython runs a python3 zlib client against echoServer over
// deflateConn, flushing with the named zlib flush mode after each command
// (Z_FINISH: no flush between commands, a final block after the last).
func deflatePython(t *testing.T, flush string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		deflateSkipOrFail(t, "python3 not installed: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		echoServer(deflateConn(c))
	}()
	script := `
import socket, sys, zlib
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
flush = getattr(zlib, sys.argv[2])
comp = zlib.compressobj(6, zlib.DEFLATED, -15)
decomp = zlib.decompressobj(-15)
buf = b""
def line():
    global buf
    while b"\n" not in buf:
        try:
            data = s.recv(65536)
        except socket.timeout:
            raise SystemExit("no answer within 10s; have %r" % buf)
        if not data:
            raise SystemExit("connection closed; have %r" % buf)
        buf += decomp.decompress(data)
    l, _, buf = buf.partition(b"\n")
    return l + b"\n"
cmds = [b"p%d NOOP %s\r\n" % (i, b"x" * (i * 500)) for i in range(20)]
if flush == zlib.Z_FINISH:
    s.sendall(b"".join(comp.compress(c) for c in cmds) + comp.flush(zlib.Z_FINISH))
for i, cmd in enumerate(cmds):
    if flush != zlib.Z_FINISH:
        s.sendall(comp.compress(cmd) + comp.flush(flush))
    echo, ok = line(), line()
    assert echo == b"* ECHO " + cmd, (echo[:60], cmd[:60])
    assert ok == b"p%d OK done\r\n" % i, ok
print("ok")
`
	cmd := exec.Command(py, "-c", script, fmt.Sprint(ln.Addr().(*net.TCPAddr).Port), flush)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("python3 zlib client (%s): %v\n%s", flush, err, out)
	}
}

// deflateSkipOrFail ends a test whose tool is missing: a skip on a
// developer's machine, a failure when CI is set (as cmd/internal/e2e's
// skipOrFail).
func deflateSkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (required when CI is set)", msg)
	}
	t.Skip(msg)
}

// fetchResponses is IMAP-like output: FETCH responses with envelopes,
// as a client's message list asks for.
func fetchResponses(n int) []byte {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "* %d FETCH (UID %d FLAGS (\\Seen%s) RFC822.SIZE %d ENVELOPE (\"Mon, %d Dec 2026 %02d:%02d:00 +0000\" \"Re: quarterly report %d\" ((\"User %d\" NIL \"user%d\" \"example.org\")) ((\"User %d\" NIL \"user%d\" \"example.org\")) NIL ((\"Team\" NIL \"team\" \"example.com\")) NIL NIL \"<%d.%d@example.org>\" \"<%d.%d@example.org>\"))\r\n",
			i, 1000+i, map[bool]string{true: " \\Answered", false: ""}[i%3 == 0], 2000+i*37%9000, 1+i%28, i%24, i%60, i%40, i%17, i%17, i%17, i%17, i-1, i*7919%10007, i, i*7919%10007)
	}
	return b.Bytes()
}

// BenchmarkDeflateConn measures the server's side of COMPRESS: responses
// compressed and flushed in 64 KiB writes, decompressed by a peer over
// loopback TCP. It reports the throughput of uncompressed bytes and the
// compressed size as a fraction of them.
func BenchmarkDeflateConn(b *testing.B) {
	data := fetchResponses(20000) // about 5 MB
	const batch = 64 << 10
	for _, level := range []int{flate.BestSpeed, deflateLevel, flate.DefaultCompression} {
		b.Run(fmt.Sprintf("level%d", level), func(b *testing.B) {
			server, client := tcpPair(b)
			counted := &countingConn{Conn: server}
			dc := newCompressConn(counted, bufio.NewReader(server), level)
			done := make(chan int64)
			go func() {
				n, _ := io.Copy(io.Discard, flate.NewReader(bufio.NewReader(client)))
				done <- n
			}()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				for off := 0; off < len(data); off += batch {
					end := min(off+batch, len(data))
					if _, err := dc.Write(data[off:end]); err != nil {
						b.Fatal(err)
					}
				}
			}
			server.(*net.TCPConn).CloseWrite()
			if got := <-done; got != int64(b.N)*int64(len(data)) {
				b.Fatalf("peer decompressed %d bytes, want %d", got, int64(b.N)*int64(len(data)))
			}
			b.ReportMetric(float64(counted.n)/float64(int64(b.N)*int64(len(data))), "ratio")
		})
	}
}

type countingConn struct {
	net.Conn
	n int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n += int64(n)
	return n, err
}

// partialFlusher writes raw DEFLATE the way zlib's Z_PARTIAL_FLUSH ends
// each command (isync's mbsync): the command as a fixed-Huffman block of
// literals, then an empty fixed block, and only the whole bytes are sent;
// the last bits wait for the next command.
type partialFlusher struct {
	b  uint64
	nb uint
}

func (w *partialFlusher) bits(out []byte, v uint64, n uint) []byte {
	w.b |= v << w.nb
	w.nb += n
	for w.nb >= 8 {
		out = append(out, byte(w.b))
		w.b >>= 8
		w.nb -= 8
	}
	return out
}

// code appends a Huffman code, first bit first (RFC 1951 §3.1.1).
func (w *partialFlusher) code(out []byte, v uint64, n uint) []byte {
	var r uint64
	for range n {
		r = r<<1 | v&1
		v >>= 1
	}
	return w.bits(out, r, n)
}

func (w *partialFlusher) command(s string) []byte {
	var out []byte
	out = w.bits(out, 0b010, 3) // not final, fixed codes (RFC 1951 §3.2.6)
	for _, c := range []byte(s) {
		if c < 144 {
			out = w.code(out, 0x30+uint64(c), 8)
		} else {
			out = w.code(out, 0x190+uint64(c)-144, 9)
		}
	}
	out = w.code(out, 0, 7)     // end of block
	out = w.bits(out, 0b010, 3) // the empty fixed block
	return w.code(out, 0, 7)
}

// TestDeflateConnPartialFlush is TestDeflateConnPythonPartialFlush
// without python: commands ended as Z_PARTIAL_FLUSH ends them are
// answered. With compress/flate's reader the first command got no answer.
func TestDeflateConnPartialFlush(t *testing.T) {
	t.Parallel()
	server, client := tcpPair(t)
	go echoServer(deflateConn(server))
	p := newDeflatePeer(client)
	var pf partialFlusher
	for i := range 20 {
		cmd := fmt.Sprintf("m%d UID FETCH 1:* (FLAGS) %s\r\n", i, strings.Repeat("ü", i))
		if _, err := client.Write(pf.command(cmd)); err != nil {
			t.Fatal(err)
		}
		if got := p.readLine(t); got != "* ECHO "+cmd {
			t.Fatalf("got %q", got)
		}
		if got := p.readLine(t); got != fmt.Sprintf("m%d OK done\r\n", i) {
			t.Fatalf("got %q", got)
		}
	}
}
