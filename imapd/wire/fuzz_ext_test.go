package wire

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// readExtArgs reads, with this package's command readers, the arguments
// of the commands that have one (from the SP after the name up to the
// CRLF). handled is false for other commands.
func readExtArgs(t testing.TB, r *Reader, name string) (handled bool, err error) {
	switch name {
	case "LIST":
		_, err = r.ReadListArgs()
	case "LSUB":
		_, _, err = r.ReadLSubArgs()
	case "STATUS":
		_, _, err = r.ReadStatusArgs()
	case "SELECT", "EXAMINE":
		var p *SelectParams
		if _, p, err = r.ReadSelectArgs(); err == nil && p.QResync != nil {
			checkQResync(t, p.QResync)
		}
	case "CREATE":
		_, _, err = r.ReadCreateArgs()
	case "RENAME":
		_, _, err = r.ReadRenameArgs()
	case "DELETE", "SUBSCRIBE", "UNSUBSCRIBE", "GETACL", "MYRIGHTS", "GETQUOTAROOT":
		_, err = r.ReadMailboxArg()
	case "ENABLE":
		_, err = r.ReadEnableArgs()
	case "COMPRESS":
		_, err = r.ReadCompressArgs()
	case "SORT":
		_, err = r.ReadSort()
	case "THREAD":
		_, err = r.ReadThread()
	case "SETACL":
		var s *SetACL
		if s, err = r.ReadSetACLArgs(); err == nil {
			plain := strings.NewReplacer("c", "", "d", "").Replace(RightsString(s.Rights))
			if plain != string(s.Rights) {
				t.Fatalf("rights %q written as %q", s.Rights, RightsString(s.Rights))
			}
		}
	case "DELETEACL":
		_, _, err = r.ReadDeleteACLArgs()
	case "LISTRIGHTS":
		_, _, err = r.ReadListRightsArgs()
	case "GETQUOTA":
		_, err = r.ReadGetQuotaArgs()
	case "SETQUOTA":
		_, _, err = r.ReadSetQuotaArgs()
	case "ID":
		var m map[string]string
		if m, err = r.ReadID(); err == nil {
			checkIDRoundTrip(t, m)
		}
	default:
		return false, nil
	}
	return true, err
}

// checkQResync: no "*" survives in the known sets, and seq-match-data
// pairs up.
func checkQResync(t testing.TB, q *QResyncParams) {
	for _, rg := range q.KnownUIDs {
		if rg.Start == 0 || rg.Stop == 0 {
			t.Fatalf("* in known-uids %v", q.KnownUIDs)
		}
	}
	if m := q.SeqMatch; m != nil {
		ns, ok1 := ascendingCount(seqRanges(m.SeqNums))
		nu, ok2 := ascendingCount(uidRanges(m.UIDs))
		if !ok1 || !ok2 || ns != nu {
			t.Fatalf("bad seq-match-data %v %v", m.SeqNums, m.UIDs)
		}
	}
}

// checkIDRoundTrip: what ReadID accepted, Writer.ID writes so that ReadID
// reads the same back.
func checkIDRoundTrip(t testing.TB, m map[string]string) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.ID(m).Flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	r := NewReader(strings.NewReader(strings.TrimPrefix(out, "* ID")), Options{})
	back, err := r.ReadID()
	if err == nil {
		err = r.ReadCRLF()
	}
	if err != nil || !reflect.DeepEqual(back, m) || (back == nil) != (m == nil) {
		t.Fatalf("ID %v written as %q, read back %v, %v", m, out, back, err)
	}
}

var extSeeds = [][2]string{
	{"LIST", ` (SUBSCRIBED RECURSIVEMATCH) "" ("%" "Sent/*") RETURN (CHILDREN STATUS (MESSAGES UNSEEN) SPECIAL-USE)`},
	{"LIST", ` "" "&ZeVnLIqe-/%"`},
	{"LSUB", ` "#news." comp.mail.*`},
	{"STATUS", ` INBOX (MESSAGES UIDNEXT HIGHESTMODSEQ DELETED-STORAGE APPENDLIMIT)`},
	{"SELECT", ` INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)) CONDSTORE)`},
	{"EXAMINE", ` INBOX (CONDSTORE)`},
	{"CREATE", ` MySpecial (USE (\Drafts \Sent))`},
	{"RENAME", ` a {1+}` + "\r\nb"},
	{"ENABLE", ` QRESYNC CONDSTORE UTF8=ACCEPT`},
	{"COMPRESS", ` DEFLATE`},
	{"SORT", ` RETURN (MIN MAX) (REVERSE DATE DISPLAYFROM) UTF-8 UNDELETED OR FROM {3+}` + "\r\nabc NOT (SINCE 1-Feb-1994)"},
	{"THREAD", ` REFERENCES UTF-8 SINCE 5-MAR-2000`},
	{"SETACL", ` INBOX/Drafts Chris +cda`},
	{"DELETEACL", ` INBOX Fred`},
	{"LISTRIGHTS", ` ~/Mail/saved smith`},
	{"GETACL", ` INBOX`},
	{"GETQUOTA", ` "!partition/sda4"`},
	{"SETQUOTA", ` "#user/alice" (STORAGE 510 MESSAGE 1000)`},
	{"GETQUOTAROOT", ` INBOX`},
	{"ID", ` ("name" "sodr" "version" "19.34" "os" NIL "x" {2+}` + "\r\nab)"},
	{"ID", ` NIL`},
}

// FuzzExtensions reads the arguments of one command, picked by name,
// with the readers for LIST, LSUB, STATUS, SELECT/EXAMINE, CREATE,
// RENAME, ENABLE, COMPRESS, SORT, THREAD, the ACL and QUOTA commands and
// ID: no panic, only typed errors, and the round trips above hold.
func FuzzExtensions(f *testing.F) {
	for _, s := range extSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, args string) {
		opts := Options{MaxLineLength: 1024, MaxLiteralSize: 1024, MaxCommandSize: 8192, MaxDepth: 8}
		r := NewReader(strings.NewReader(args+"\r\n"), opts)
		handled, err := readExtArgs(t, r, strings.ToUpper(name))
		if !handled {
			return
		}
		if err == nil {
			err = r.ReadCRLF()
		}
		if err != nil {
			checkErr(t, err)
		}
	})
}

// FuzzListWrite checks that a mailbox name written by List (modified
// UTF-7 or UTF-8, quoted or literal) reads back as the same name.
func FuzzListWrite(f *testing.F) {
	for _, s := range []string{"INBOX", "Sent", `a"b\c`, "日本語/x", "&", "a\r\nb", "NIL", ""} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, name string, utf8Mode bool) {
		if !utf8.ValidString(name) || strings.ContainsRune(name, 0) || strings.EqualFold(name, "INBOX") {
			return
		}
		out := render(t, func(w *Writer) {
			w.SetUTF8(utf8Mode)
			w.List("LIST", []string{`\HasNoChildren`}, '/', name, nil, name)
		})
		r := NewReader(strings.NewReader(strings.TrimPrefix(out, `* LIST (\HasNoChildren) "/"`)), Options{})
		r.SetUTF8(utf8Mode)
		got, err := r.ReadMailboxArg()
		if err != nil || got != name {
			t.Fatalf("%q written as %q, read %q, %v", name, out, got, err)
		}
	})
}

// FuzzThreadWrite builds a thread tree from bytes and checks that the
// THREAD response balances its parentheses and lists every number once.
func FuzzThreadWrite(f *testing.F) {
	f.Add([]byte{1, 0, 2, 1, 3, 1, 4, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Each pair (parent index, dummy) adds a node: node i+1 under
		// node b[2i] mod (i+1); node 0 is a dummy root.
		nodes := []*ThreadNode{{}}
		want := 0
		for i := 0; i+1 < len(b); i += 2 {
			p := nodes[int(b[i])%len(nodes)]
			n := &ThreadNode{Num: uint32(len(nodes))}
			if b[i+1]%5 == 0 {
				n.Num = 0
			} else {
				want++
			}
			p.Children = append(p.Children, n)
			nodes = append(nodes, n)
		}
		out := render(t, func(w *Writer) { w.ThreadData(nodes[0].Children) })
		depth, nums := 0, 0
		for i := 0; i < len(out); i++ {
			switch c := out[i]; {
			case c == '(':
				depth++
			case c == ')':
				depth--
				if depth < 0 {
					t.Fatalf("unbalanced %q", out)
				}
			case c >= '1' && c <= '9' && (out[i-1] == ' ' || out[i-1] == '('):
				nums++
			}
		}
		if depth != 0 || nums != want || strings.Contains(out, "()") {
			t.Fatalf("%q: depth %d, %d numbers, want %d", out, depth, nums, want)
		}
	})
}
