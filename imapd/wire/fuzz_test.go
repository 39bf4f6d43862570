package wire

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// readArgs reads the arguments of the commands a server would parse with
// this package, so the fuzzer reaches every grammar.
func readArgs(t testing.TB, r *Reader, name string) error {
	if handled, err := readExtArgs(t, r, name); handled {
		return err
	}
	sp := func(read ...func() error) error {
		for _, f := range read {
			if err := r.ReadSP(); err != nil {
				return err
			}
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	}
	mailbox := func() error { _, err := r.ReadMailbox(); return err }
	astring := func() error { _, err := r.ReadAString(); return err }
	switch name {
	case "LOGIN":
		return sp(astring, astring)
	case "APPEND":
		if err := sp(mailbox); err != nil {
			return err
		}
		if err := r.ReadSP(); err != nil {
			return err
		}
		for {
			m, err := r.ReadAppendMessage(1 << 12)
			if err != nil {
				return err
			}
			if _, err := io.Copy(io.Discard, m.Literal); err != nil {
				return err
			}
			if more, err := r.MaybeSP(); err != nil || !more {
				return err
			}
		}
	case "FETCH", "STORE", "COPY", "MOVE", "SEARCH":
		return readUIDArgs(r, name, false)
	case "UID":
		if err := r.ReadSP(); err != nil {
			return err
		}
		sub, err := r.ReadAtom()
		if err != nil {
			return err
		}
		return readUIDArgs(r, strings.ToUpper(sub), true)
	case "AUTHENTICATE":
		// The initial line, then one client response line (RFC 9051
		// §6.2.2); the session reads no further CRLF.
		if err := sp(astring); err != nil {
			return err
		}
		if err := r.ReadCRLF(); err != nil {
			return err
		}
		_, err := r.ReadLine()
		return err
	case "NOOP", "CAPABILITY", "LOGOUT", "IDLE", "CLOSE", "UNSELECT", "EXPUNGE", "NAMESPACE", "CHECK":
		return nil
	}
	return syntaxErr("unknown command")
}

func readUIDArgs(r *Reader, name string, uid bool) error {
	switch name {
	case "SEARCH":
		_, err := r.ReadSearch()
		return err
	case "SORT":
		_, err := r.ReadSort()
		return err
	case "THREAD":
		_, err := r.ReadThread()
		return err
	case "EXPUNGE":
		if !uid {
			return syntaxErr("unknown command")
		}
		_, err := r.ReadUIDExpungeArgs()
		return err
	}
	if err := r.ReadSP(); err != nil {
		return err
	}
	if _, err := r.ReadNumSet(uid); err != nil {
		return err
	}
	if err := r.ReadSP(); err != nil {
		return err
	}
	switch name {
	case "FETCH":
		_, _, err := r.ReadFetchItems()
		return err
	case "STORE":
		_, _, err := r.ReadStore()
		return err
	case "COPY", "MOVE":
		_, err := r.ReadMailbox()
		return err
	}
	return syntaxErr("unknown command")
}

// checkErr fails unless err is a *SyntaxError or an I/O error from the
// end of the input.
func checkErr(t *testing.T, err error) {
	t.Helper()
	var se *SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return
	}
	t.Fatalf("untyped error %T: %v", err, err)
}

// session reads commands from in as a server would: answer BAD and skip
// on a syntax error, stop on I/O errors and fatal ones.
func session(t *testing.T, in []byte, opts Options) (commands int) {
	t.Helper()
	return sessionFrom(t, bytes.NewReader(in), opts, len(in))
}

func sessionFrom(t *testing.T, in io.Reader, opts Options, size int) (commands int) {
	t.Helper()
	r := NewReader(in, opts)
	for i := 0; i <= size; i++ {
		_, name, err := r.ReadCommand()
		if err == nil {
			if err = readArgs(t, r, name); err == nil && name != "AUTHENTICATE" {
				err = r.ReadCRLF()
			}
		}
		if err == nil {
			commands++
			continue
		}
		checkErr(t, err)
		if !IsSyntax(err) {
			return commands
		}
		if err := r.Skip(); err != nil {
			checkErr(t, err)
			return commands
		}
	}
	t.Fatalf("no progress after %d iterations", size+1)
	return commands
}

var fuzzSeeds = []string{
	"a1 LOGIN {5}\r\nSMITH \"s\\\"ecret\"\r\n",
	"a2 SELECT &U,BTFw-/&ZeVnLIqe-\r\n",
	"a3 FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (DATE FROM)]<0.100> BINARY[1]) (CHANGEDSINCE 5 VANISHED)\r\n",
	"a4 UID FETCH 1,2:4 FULL\r\n",
	"a5 UID STORE 1 (UNCHANGEDSINCE 9) +FLAGS.SILENT (\\Seen $Junk)\r\n",
	"a6 SEARCH RETURN (MIN SAVE) CHARSET UTF-8 OR FROM {3+}\r\nabc NOT (SINCE 1-Feb-1994 LARGER 5) UID $\r\n",
	"a7 APPEND INBOX (\\Seen) \" 7-Jul-1996 02:44:25 -0700\" ~{5+}\r\nab\x00cd\r\n",
	"a8 LIST \"\" %/*\r\na9 STATUS INBOX (MESSAGES UIDNEXT)\r\n",
	"a10 FOO {99999999+}\r\n",
	"a11 LOGIN {999999999}\r\nb NOOP\r\n",
	"a12 AUTHENTICATE PLAIN\r\ndGVzdA==\r\n",
	"a13 SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
	"a14 UID SORT RETURN (COUNT) (REVERSE ARRIVAL) UTF-8 UNSEEN\r\na15 ID (\"name\" \"x\")\r\n",
	"a16 SELECT INBOX (QRESYNC (1 2 1:9 (1:2 5,7)))\r\na17 UID EXPUNGE 1:3\r\na18 SETACL INBOX bob +lr\r\n",
}

// FuzzReadCommand feeds any bytes to a reading session: no panic, no
// untyped error, progress on every command, and memory bounded by the
// limits (small here, so a bug that ignores them shows as a failure of
// the allocation check).
func FuzzReadCommand(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		opts := Options{MaxLineLength: 1024, MaxLiteralSize: 1024, MaxCommandSize: 8192, MaxDepth: 8}
		continues := 0
		opts.Continue = func() error { continues++; return nil }
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		session(t, in, opts)
		opts.LiteralMinus = true
		session(t, in, opts)
		runtime.ReadMemStats(&after)
		// Allocation grows with the input, never with announced sizes.
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20+1024*uint64(len(in)) {
			t.Fatalf("allocated %d bytes for %d bytes of input", d, len(in))
		}
	})
}

// FuzzSearch checks the SEARCH grammar alone: no panic, typed errors.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{
		" ALL", " FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"", " RETURN () 1:*", " OR OR SEEN DRAFT (UID 1:5 $)",
		" CHARSET UTF-8 HEADER X-A {2+}\r\nxy", " MODSEQ \"/flags/\\\\seen\" priv 5 SMALLER 0 KEYWORD foo",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := NewReader(strings.NewReader(s+"\r\n"), Options{MaxLiteralSize: 1024, MaxCommandSize: 8192, MaxDepth: 8})
		_, err := r.ReadSearch()
		if err == nil {
			err = r.ReadCRLF()
		}
		if err != nil {
			checkErr(t, err)
		}
	})
}

func TestSessionSeeds(t *testing.T) {
	t.Parallel()
	all := strings.Join(fuzzSeeds, "")
	n := session(t, []byte(all), Options{})
	// a10 is fatal: everything before it is read, a1..a9.
	if n != 9 {
		t.Fatalf("read %d commands, want 9", n)
	}
	n = session(t, []byte(strings.Join(fuzzSeeds[9:], "")), Options{})
	if n != 8 { // b NOOP, a12 .. a18
		t.Fatalf("read %d commands after a11, want 8", n)
	}
}
