package imapd

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// refListMatch is the reference: the pattern as an anchored regexp
// ("*" is ".*", "%" is "[^/]*"), with MatchList's handling of the
// reference.
func refListMatch(name, ref, pattern string) bool {
	if strings.HasPrefix(pattern, "/") {
		ref, pattern = "", pattern[1:]
	}
	if ref != "" && !strings.HasSuffix(ref, "/") {
		ref += "/"
	}
	if !strings.HasPrefix(name, ref) {
		return false
	}
	name = name[len(ref):]
	var re strings.Builder
	re.WriteString(`(?s)^`)
	for _, r := range pattern {
		switch r {
		case '*':
			re.WriteString(`.*`)
		case '%':
			re.WriteString(`[^/]*`)
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString(`$`)
	return regexp.MustCompile(re.String()).MatchString(name)
}

var listCases = []struct {
	name, ref, pattern string
	want               bool
}{
	{"INBOX", "", "*", true},
	{"INBOX", "", "%", true},
	{"A/B", "", "%", false},
	{"A/B", "", "*", true},
	{"A/B", "", "A/%", true},
	{"A/B/C", "", "A/%", false},
	{"A/B/C", "", "A/%/C", true},
	{"A/B/C", "A", "%/C", true},
	{"A/B/C", "A/", "B/*", true},
	{"A/B/C", "X", "/A/*", true},
	{"A/B", "", "A", false},
	{"A", "", "A", true},
	{"Archive/2024", "", "*2024", true},
	{"Archive/2024", "", "%2024", false},
	{"Archive/2024", "", "*%4", true},
	{"Archive/2024", "", "%*%", true},
	{"abc", "", "a%%c", true},
	{"abc", "", "a**b*c*", true},
	{"abc", "", "abcd", false},
	{"", "", "", true},
	{"x", "", "", false},
	{"Münchën/Ä", "", "M%n*/%", true},
	{strings.Repeat("a", 200), "", "*a*a*a*a*b", false},
}

func TestListMatch(t *testing.T) {
	t.Parallel()
	for _, c := range listCases {
		if got := compileList(c.ref, c.pattern, '/').match(c.name); got != c.want {
			t.Errorf("match(%q, ref %q, %q) = %v, want %v", c.name, c.ref, c.pattern, got, c.want)
		}
		if ref := refListMatch(c.name, c.ref, c.pattern); ref != c.want {
			t.Errorf("reference(%q, ref %q, %q) = %v, want %v (the case is wrong)", c.name, c.ref, c.pattern, ref, c.want)
		}
	}
}

// TestListMatchLinear: the pattern that made MatchList exponential over a
// long name is answered in at most (len(name)+1)·(len(pattern)+1) steps.
func TestListMatchLinear(t *testing.T) {
	t.Parallel()
	name := strings.Repeat("a", 255)
	for _, pattern := range []string{"*a*a*a*a*b", "%a%a%a%a%a%a%a%a%b", strings.Repeat("*a", 100) + "*b"} {
		p := compileList("", pattern, '/')
		if p.match(name) {
			t.Errorf("%q matched", pattern)
		}
		if limit := (len(name) + 1) * (len(pattern) + 1); p.steps > limit {
			t.Errorf("%q: %d steps, want at most %d", pattern, p.steps, limit)
		}
	}
}

// FuzzListMatch compares the matcher with the regexp reference.
func FuzzListMatch(f *testing.F) {
	for _, c := range listCases {
		if len(c.name) < 64 {
			f.Add(c.name, c.ref, c.pattern)
		}
	}
	f.Fuzz(func(t *testing.T, name, ref, pattern string) {
		// Mailbox names are UTF-8 (storage refuses others); the
		// regexp reference works on runes.
		if len(name) > 64 || len(ref) > 16 || len(pattern) > 32 ||
			!utf8.ValidString(name) || !utf8.ValidString(ref) || !utf8.ValidString(pattern) {
			t.Skip()
		}
		p := compileList(ref, pattern, '/')
		got := p.match(name)
		if want := refListMatch(name, ref, pattern); got != want {
			t.Fatalf("match(%q, ref %q, %q) = %v, reference says %v", name, ref, pattern, got, want)
		}
		if p.match(name) != got {
			t.Fatalf("second match of the same name differs")
		}
	})
}

// BenchmarkListMatch: a pathological pattern over a long name. (go-imap's
// imapserver.MatchList, which this replaced, was benchmarked beside it
// on a 40-byte name until the package stopped importing imapserver.)
func BenchmarkListMatch(b *testing.B) {
	name := strings.Repeat("a", 255)
	b.Run("ours", func(b *testing.B) {
		p := compileList("", "*a*a*a*a*b", '/')
		for b.Loop() {
			p.match(name)
		}
	})
}

// TestListPathologicalPattern: LIST with many stars over a long folder
// name is answered (within the wire helper's 10 s read deadline; before,
// MatchList took minutes).
func TestListPathologicalPattern(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	long := strings.Repeat("a", 200)
	c := ts.loginWire(t)
	if _, st := c.cmd("C", "CREATE "+long); !strings.HasPrefix(st, "OK") {
		t.Fatalf("CREATE: %s", st)
	}
	untagged, st := c.cmd("L1", `LIST "" "*a*a*a*a*a*a*b"`)
	if !strings.HasPrefix(st, "OK") || len(untagged) != 0 {
		t.Fatalf("LIST: %q %s", untagged, st)
	}
	untagged, st = c.cmd("L2", `LIST "" "*a*a*a*a*a*a*a"`)
	if !strings.HasPrefix(st, "OK") || len(untagged) != 1 || !strings.Contains(untagged[0], long) {
		t.Fatalf("LIST: %q %s", untagged, st)
	}
}
