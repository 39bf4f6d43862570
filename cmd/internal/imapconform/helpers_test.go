package main

import (
	"bufio"
	"compress/flate"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestResponseHelpers(t *testing.T) {
	t.Parallel()
	r := &resp{untagged: []string{
		"* 2 EXISTS",
		"* 3 EXISTS",
		"* OK [HIGHESTMODSEQ 715194045007]",
		"* 2 FETCH (UID 7 FLAGS (\\Seen) MODSEQ (12))",
		"* 3 FETCH (FLAGS () UID 9 MODSEQ (13))",
	}}
	if got := count(r, "EXISTS"); got != 3 {
		t.Errorf("count EXISTS = %d, want the last, 3", got)
	}
	if got := count(r, "RECENT"); got != -1 {
		t.Errorf("count RECENT = %d, want -1", got)
	}
	if got := highestModseq(r); got != 715194045007 {
		t.Errorf("highestModseq = %d", got)
	}
	if got := modseqOf(r, 3); got != 13 {
		t.Errorf("modseqOf 3 = %d", got)
	}
	if got := modseqOf(r, 4); got != -1 {
		t.Errorf("modseqOf 4 = %d, want -1", got)
	}
	if got := fmt.Sprint(uidsIn(r)); got != "[7 9]" {
		t.Errorf("uidsIn = %s", got)
	}
	if got := statusItem(&resp{untagged: []string{`* STATUS "a b" (MESSAGES 2 HIGHESTMODSEQ 40)`}}, "HIGHESTMODSEQ"); got != 40 {
		t.Errorf("statusItem = %d", got)
	}
}

func TestThreadMessages(t *testing.T) {
	t.Parallel()
	for i, m := range msgThread {
		if strings.Contains(strings.ReplaceAll(m, "\r\n", ""), "\n") || !strings.HasSuffix(m, "\r\n") {
			t.Errorf("message %d is not in wire form", i+1)
		}
	}
	if !strings.Contains(msgThread[3], "\r\nIn-Reply-To: <t2@thread.test>\r\n") || !strings.Contains(msgThread[3], "\r\nReferences: <t1@thread.test> <t2@thread.test>\r\n") {
		t.Errorf("message 4 lacks its thread headers:\n%s", msgThread[3])
	}
}

// TestCompress talks to a fake server that switches to DEFLATE after
// its OK to COMPRESS, as RFC 4978 §3 says, and checks that commands and
// responses both go through the compressed stream.
func TestCompress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(nc, "* OK fake\r\n")
		br := bufio.NewReader(nc)
		line, _ := br.ReadString('\n')
		tag, _, _ := strings.Cut(line, " ")
		fmt.Fprintf(nc, "%s OK DEFLATE active\r\n", tag)
		zr := bufio.NewReader(flate.NewReader(br))
		zw, _ := flate.NewWriter(nc, flate.BestSpeed)
		for {
			line, err := zr.ReadString('\n')
			if err != nil {
				return
			}
			tag, cmd, _ := strings.Cut(strings.TrimSpace(line), " ")
			fmt.Fprintf(zw, "* 1 FETCH (BODY[] {5}\r\nhello)\r\n%s OK %s done\r\n", tag, cmd)
			zw.Flush()
		}
	}()
	var log []*resp
	c, err := dial(ln.Addr().String(), &log)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if r := c.do("COMPRESS DEFLATE"); r.status != "OK" {
		t.Fatalf("COMPRESS: %+v", r)
	}
	c.compress()
	for i := 0; i < 2; i++ {
		r := c.do("NOOP")
		if r.status != "OK" || len(r.untagged) != 1 || r.untagged[0] != "* 1 FETCH (BODY[] {5}\r\nhello)" || !strings.Contains(r.tagged, "NOOP done") {
			t.Fatalf("compressed NOOP %d: %+v", i, r)
		}
	}
}

func TestExpandSet(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"1:3": "[1 2 3]", "1,3,2,4:5": "[1 3 2 4 5]", "5:4": "[5 4]", "7": "[7]", "": "[]", "0": "[]", "a:b": "[]",
	} {
		if got := fmt.Sprint(expandSet(in)); got != want {
			t.Errorf("expandSet(%q) = %s, want %s", in, got, want)
		}
	}
}
