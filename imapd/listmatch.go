package imapd

import "strings"

// LIST and LSUB patterns (RFC 3501 §6.3.8, RFC 9051 §6.3.9): "*" matches
// any run of characters, "%" any run without the hierarchy delimiter.
//
// go-imap's imapserver.MatchList tries every split of the name at every
// wildcard: exponential, so `LIST "" "*a*a*a*a*b"` over one long folder
// name kept a core busy for minutes. listPattern instead runs the pattern
// as a set of states over the name, one pass, at most
// (len(name)+1)·(len(pattern)+1) steps, with no recursion.

// listPattern is a compiled reference and pattern.
type listPattern struct {
	prefix string // the reference, with its delimiter, that names start with
	pat    string // the pattern, runs of wildcards collapsed
	// literals is the number of non-wildcard bytes in pat: a name shorter
	// than that cannot match.
	literals int
	delim    byte
	// cur and next are the state sets, reused between names.
	cur, next []bool
	// steps counts the state updates made, for tests.
	steps int
}

// compileList prepares ref and pattern for matching names whose levels
// are separated by delim (an ASCII byte). As go-imap does, a pattern that
// starts with the delimiter ignores the reference, and a reference gets
// the delimiter appended.
func compileList(ref, pattern string, delim byte) *listPattern {
	d := string(delim)
	if strings.HasPrefix(pattern, d) {
		ref = ""
		pattern = pattern[1:]
	}
	if ref != "" && !strings.HasSuffix(ref, d) {
		ref += d
	}
	// "**" is "*"; "%*", "*%" are "*"; "%%" is "%". Collapsing bounds the
	// states by the literal bytes, which a matching name must hold.
	var b strings.Builder
	literals := 0
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '*' && c != '%' {
			b.WriteByte(c)
			literals++
			continue
		}
		j := i
		star := false
		for j < len(pattern) && (pattern[j] == '*' || pattern[j] == '%') {
			star = star || pattern[j] == '*'
			j++
		}
		if star {
			b.WriteByte('*')
		} else {
			b.WriteByte('%')
		}
		i = j - 1
	}
	p := &listPattern{prefix: ref, pat: b.String(), literals: literals, delim: delim}
	p.cur = make([]bool, len(p.pat)+1)
	p.next = make([]bool, len(p.pat)+1)
	return p
}

// match reports whether name matches.
func (p *listPattern) match(name string) bool {
	if !strings.HasPrefix(name, p.prefix) {
		return false
	}
	name = name[len(p.prefix):]
	if len(name) < p.literals {
		return false
	}
	pat := p.pat
	cur, next := p.cur, p.next
	clear(cur)
	cur[0] = true
	p.closure(cur)
	for i := 0; i < len(name); i++ {
		c := name[i]
		clear(next)
		alive := false
		for s, on := range cur[:len(pat)] {
			if !on {
				continue
			}
			p.steps++
			switch pat[s] {
			case '*':
				next[s] = true
			case '%':
				if c != p.delim {
					next[s] = true
				}
			default:
				if pat[s] == c {
					next[s+1] = true
				}
			}
			alive = alive || next[s] || next[s+1]
		}
		if !alive {
			return false
		}
		p.closure(next)
		cur, next = next, cur
	}
	return cur[len(pat)]
}

// closure adds the states reached by letting wildcards match nothing.
func (p *listPattern) closure(set []bool) {
	for s := 0; s < len(p.pat); s++ {
		if set[s] && (p.pat[s] == '*' || p.pat[s] == '%') {
			set[s+1] = true
		}
	}
}

// listMatcher matches names against several patterns (LIST-EXTENDED
// allows a list of them).
type listMatcher []*listPattern

func newListMatcher(ref string, patterns []string, delim byte) listMatcher {
	m := make(listMatcher, len(patterns))
	for i, p := range patterns {
		m[i] = compileList(ref, p, delim)
	}
	return m
}

// match reports whether name matches any of the patterns.
func (m listMatcher) match(name string) bool {
	for _, p := range m {
		if p.match(name) {
			return true
		}
	}
	return false
}
