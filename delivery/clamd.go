package delivery

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
)

// Clamd scans messages with ClamAV's clamd over its INSTREAM command
// (clamd(8)): the message is sent in length-prefixed chunks on a Unix or
// TCP socket, and clamd answers "stream: OK" or "stream: NAME FOUND".
// A message with a virus is rejected with 554 5.7.1 naming the virus.
type Clamd struct {
	// Address is "unix:/path", an absolute socket path, or "host:port".
	Address string
	// MaxBytes is the largest message scanned (0 = 25 MiB, clamd's
	// default StreamMaxLength); larger messages are accepted unscanned
	// with an X-Virus-Scanned: skipped field, as clamd would refuse them.
	MaxBytes int64
}

var _ Filter = (*Clamd)(nil)

const clamdChunk = 32 << 10

// Check implements Filter.
func (c *Clamd) Check(ctx context.Context, env *Envelope, msg *io.SectionReader) (Verdict, error) {
	limit := c.MaxBytes
	if limit <= 0 {
		limit = 25 << 20
	}
	if msg.Size() > limit {
		return Verdict{Action: Accept, Reason: fmt.Sprintf("not scanned: %d bytes over the %d limit", msg.Size(), limit),
			AddHeaders: []Field{{"X-Virus-Scanned", "skipped (too large)"}}}, nil
	}
	conn, err := dialFilter(ctx, c.Address)
	if err != nil {
		return Verdict{}, fmt.Errorf("clamd: %w", err)
	}
	defer conn.Close()
	stop := deadlineConn(ctx, conn)
	defer stop()
	reply, err := clamdInstream(conn, io.NewSectionReader(msg, 0, msg.Size()))
	if err != nil {
		if ctx.Err() != nil {
			return Verdict{}, fmt.Errorf("clamd: %w", ctx.Err())
		}
		return Verdict{}, fmt.Errorf("clamd: %w", err)
	}
	return clamdVerdict(reply)
}

// clamdInstream sends msg with zINSTREAM and returns clamd's reply.
func clamdInstream(conn net.Conn, msg io.Reader) (string, error) {
	bw := bufio.NewWriterSize(conn, clamdChunk+4)
	bw.WriteString("zINSTREAM\x00")
	buf := make([]byte, clamdChunk)
	var size [4]byte
	for {
		n, err := io.ReadFull(msg, buf)
		if n > 0 {
			binary.BigEndian.PutUint32(size[:], uint32(n))
			bw.Write(size[:])
			if _, werr := bw.Write(buf[:n]); werr != nil {
				return "", werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read message: %w", err)
		}
	}
	bw.Write([]byte{0, 0, 0, 0})
	if err := bw.Flush(); err != nil {
		return "", err
	}
	reply, err := bufio.NewReader(io.LimitReader(conn, 4096)).ReadString(0)
	if err != nil && reply == "" {
		return "", fmt.Errorf("read reply: %w", err)
	}
	return strings.TrimRight(reply, "\x00\r\n"), nil
}

// clamdVerdict interprets an INSTREAM reply.
func clamdVerdict(reply string) (Verdict, error) {
	body := strings.TrimPrefix(reply, "stream: ")
	switch {
	case body == "OK":
		return Verdict{Action: Accept, Reason: "clean", AddHeaders: []Field{{"X-Virus-Scanned", "clamd: clean"}}}, nil
	case strings.HasSuffix(body, " FOUND"):
		name := strings.TrimSuffix(body, " FOUND")
		return Verdict{Action: Reject, Reason: "Virus found: " + sanitizeReply(name)}, nil
	default:
		// "INSTREAM size limit exceeded. ERROR" and the like.
		return Verdict{}, fmt.Errorf("unexpected reply %q", reply)
	}
}

// sanitizeReply keeps a scanner's text safe for an SMTP reply line.
func sanitizeReply(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		}
	}
	if b.Len() > 200 {
		b.Truncate(200)
	}
	return b.String()
}

// dialFilter connects to "unix:/path", "/path" or "host:port".
func dialFilter(ctx context.Context, address string) (net.Conn, error) {
	network, addr := "tcp", address
	if rest, ok := strings.CutPrefix(address, "unix:"); ok {
		network, addr = "unix", rest
	} else if strings.HasPrefix(address, "/") {
		network = "unix"
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
