package storage

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMaildirName exercises the Maildir file-name parsers: parseInfo,
// curName, sizeFromName, timeFromName, and
// validateMailboxName / mailboxRel.
func FuzzMaildirName(f *testing.F) {
	for _, s := range []string{
		"1700000000.M1P2Q3R0a0b0c0d.host,S=1234,W=1260:2,FRS",
		"1700000000.M1P2Q3.host:2,",
		"1700000000.M1P2Q3.host",
		"1700000000.M1P2Q3.host,S=12:2,Sa",
		"123.x,W=99:2,T",
		"x:2,:2,S",
		",S=-1,W=-1",
		",S=99999999999999999999",
		"999999999999.a",
		"0.a",
		"INBOX", "inbox", "A/B", "A//B", "/A", "A.", ".A", "a\\b", "a*", "a%", "\x00", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		key, flags, other := parseInfo(name)
		if !strings.HasPrefix(name, key) {
			t.Fatalf("parseInfo(%q): key %q is not a prefix", name, key)
		}
		if strings.Contains(key, ":2,") {
			t.Fatalf("parseInfo(%q): key %q still contains \":2,\"", name, key)
		}
		for _, fl := range flags {
			if countOf(flags, fl) != 1 {
				t.Fatalf("parseInfo(%q): duplicate flag %q in %q", name, fl, flags)
			}
		}
		for i := 0; i < len(other); i++ {
			if strings.IndexByte(other[i+1:], other[i]) >= 0 {
				t.Fatalf("parseInfo(%q): duplicate letter in other %q", name, other)
			}
			if strings.IndexByte(infoLetters(allFlags()), other[i]) >= 0 {
				t.Fatalf("parseInfo(%q): system letter %q in other %q", name, other[i], other)
			}
		}
		// Round trip: building the name and parsing it again is stable.
		cn := curName(key, flags, other)
		k2, f2, o2 := parseInfo(cn)
		cn2 := curName(k2, f2, o2)
		if cn2 != cn {
			t.Fatalf("curName not stable for %q: %q then %q", name, cn, cn2)
		}
		if k2 != key {
			t.Fatalf("key changed for %q: %q -> %q", name, key, k2)
		}
		slices.Sort(flags)
		slices.Sort(f2)
		if !slices.Equal(flags, f2) {
			t.Fatalf("flags changed for %q: %q -> %q", name, flags, f2)
		}

		if n, ok := sizeFromName(key); ok {
			if n < 0 {
				t.Fatalf("sizeFromName(%q) = %d", key, n)
			}
			// The name built by the store round-trips exactly.
			if m, ok := sizeFromName("1.M1P1Q1.h,S=" + strconv.FormatInt(n, 10)); !ok || m != n {
				t.Fatalf("sizeFromName round trip %d: %d %v", n, m, ok)
			}
		}
		if tm, ok := timeFromName(key); ok {
			if tm.Unix() <= 0 {
				t.Fatalf("timeFromName(%q) = %v", key, tm)
			}
		}

		canon, err := validateMailboxName(name)
		if err != nil {
			if _, err2 := mailboxRel(name); err2 == nil {
				t.Fatalf("mailboxRel(%q) accepted a name validateMailboxName rejects", name)
			}
			return
		}
		if !utf8.ValidString(canon) || canon == "" {
			t.Fatalf("validateMailboxName(%q) = %q", name, canon)
		}
		if c2, err := validateMailboxName(canon); err != nil || c2 != canon {
			t.Fatalf("validateMailboxName not idempotent: %q -> %q -> %q, %v", name, canon, c2, err)
		}
		rel, err := mailboxRel(name)
		if err != nil {
			t.Logf("mailboxRel(%q): %v", name, err)
			return
		}
		if rel != "" && (!filepath.IsLocal(rel) || !strings.HasPrefix(rel, ".") || strings.ContainsRune(rel, filepath.Separator)) {
			t.Fatalf("mailboxRel(%q) = %q escapes the Maildir", name, rel)
		}
	})
}

// allFlags returns every system flag that has a Maildir letter.
func allFlags() []string {
	var out []string
	for _, fl := range flagLetters {
		out = append(out, fl.flag)
	}
	return out
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
