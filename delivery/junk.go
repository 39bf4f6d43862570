package delivery

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// JunkHeader marks a queued message for the recipient's Junk folder. The
// inbound checks (a DMARC p=quarantine failure) and filters add it on the
// way into the queue, where it is durable with the message; the MDA reads
// it, delivers to "Junk" and removes it. Inbound paths strip any copy a
// sender supplied.
const JunkHeader = "X-Yubin-Junk"

// JunkMailbox is where messages marked with JunkHeader are delivered.
const JunkMailbox = "Junk"

// stripField returns br's message without the header fields named name
// (with their continuation lines); the body is untouched.
func stripField(br *bufio.Reader, name string) io.Reader {
	var head bytes.Buffer
	prefix := []byte(strings.ToLower(name) + ":")
	skipping := false
	for {
		line, err := br.ReadSlice('\n')
		full := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			line, err = br.ReadSlice('\n')
			full = append(full, line...)
		}
		if len(full) == 0 {
			break
		}
		if len(bytes.TrimRight(full, "\r\n")) == 0 {
			head.Write(full) // end of header
			break
		}
		if full[0] == ' ' || full[0] == '\t' {
			if !skipping {
				head.Write(full)
			}
		} else {
			skipping = len(full) > len(prefix) && bytes.EqualFold(full[:len(prefix)], prefix)
			if !skipping {
				head.Write(full)
			}
		}
		if err != nil {
			break
		}
	}
	return io.MultiReader(&head, br)
}
