package wire

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
)

// Over a real connection the client sends a synchronising literal's data
// only after "+": the Reader must ask through Continue before it reads,
// and must not wait for bytes the client holds back.
func TestSyncLiteralOverConn(t *testing.T) {
	t.Parallel()
	srv, cli := net.Pipe()
	defer srv.Close()
	defer cli.Close()

	clientErr := make(chan error, 1)
	go func() {
		br := bufio.NewReader(cli)
		if _, err := io.WriteString(cli, "a LOGIN {5}\r\n"); err != nil {
			clientErr <- err
			return
		}
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "+ ") {
			clientErr <- io.ErrUnexpectedEOF
			return
		}
		_, err = io.WriteString(cli, "SMITH {6}\r\n")
		if err == nil {
			line, err = br.ReadString('\n')
			if err == nil && !strings.HasPrefix(line, "+ ") {
				err = io.ErrUnexpectedEOF
			}
		}
		if err == nil {
			_, err = io.WriteString(cli, "sesame\r\n")
		}
		if err == nil {
			line, err = br.ReadString('\n')
			if err == nil && line != "a OK LOGIN completed\r\n" {
				err = io.ErrUnexpectedEOF
			}
		}
		clientErr <- err
	}()

	w := NewWriter(srv)
	r := NewReader(srv, Options{Continue: func() error { return w.Continuation("Ready") }})
	tag, name, err := r.ReadCommand()
	if err != nil || name != "LOGIN" {
		t.Fatalf("ReadCommand: %q %v", name, err)
	}
	var user, pass string
	if err = r.ReadSP(); err == nil {
		if user, err = r.ReadAString(); err == nil {
			if err = r.ReadSP(); err == nil {
				if pass, err = r.ReadAString(); err == nil {
					err = r.ReadCRLF()
				}
			}
		}
	}
	if err != nil || user != "SMITH" || pass != "sesame" {
		t.Fatalf("args %q %q %v", user, pass, err)
	}
	w.Status(tag, "OK", "", "LOGIN completed")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := <-clientErr; err != nil {
		t.Fatalf("client: %v", err)
	}
}

// Commands that arrive one byte at a time parse like whole ones.
func TestOneByteReads(t *testing.T) {
	t.Parallel()
	all := []byte(strings.Join(fuzzSeeds[:8], ""))
	want := session(t, all, Options{})
	got := sessionFrom(t, iotest.OneByteReader(bytes.NewReader(all)), Options{}, len(all))
	if got != want || got != 9 {
		t.Fatalf("one byte at a time: %d commands, whole: %d, want 9", got, want)
	}
}

func BenchmarkReadFetch(b *testing.B) {
	cmd := "a3 UID FETCH 1:*,7,9:12 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM TO SUBJECT MESSAGE-ID)] BINARY.PEEK[1]<0.2048>) (CHANGEDSINCE 12345)\r\n"
	in := []byte(strings.Repeat(cmd, 100))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(in), Options{})
		for range 100 {
			_, name, err := r.ReadCommand()
			if err == nil {
				err = readArgs(b, r, name)
			}
			if err == nil {
				err = r.ReadCRLF()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
