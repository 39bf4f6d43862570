package imapd

import "strings"

// An RFC 5322 address-list parser for ENVELOPE, written because neither
// net/mail nor go-message/mail fits: both refuse or drop groups, decode
// encoded words, and fail a whole list on one bad address.
//
// Grammar (RFC 5322 §3.4, obsolete forms §4.4):
//
//	address-list = address *("," address) / obs-addr-list
//	address      = mailbox / group
//	mailbox      = name-addr / addr-spec
//	name-addr    = [display-name] angle-addr
//	angle-addr   = [CFWS] "<" [obs-route] addr-spec ">" [CFWS]
//	obs-route    = obs-domain-list ":"   ; "@a,@b:", the ENVELOPE adl
//	group        = display-name ":" [group-list] ";" [CFWS]
//	display-name = phrase                ; 1*word, obs-phrase allows "."
//	addr-spec    = local-part "@" domain ; obs forms allow CFWS around "."
//
// The parser is lenient the way mail readers are: empty list elements
// are skipped (obs-addr-list), a word without "@" is a mailbox without
// domain, a phrase without address is a name without mailbox, a group
// without ";" ends at the end of the field, and a ":" inside a group is
// ignored (groups do not nest). With no display name, a comment after
// the addr-spec is the name ("a@x (Alice)"), as Dovecot does. It makes
// one pass over the input; comments nest without recursion.

type addrTokenKind uint8

const (
	tokEOF     addrTokenKind = iota
	tokWord                  // atom, or quoted-string with quoting removed
	tokLiteral               // domain-literal, brackets kept
	tokSpecial               // one of < > : ; @ , .
)

type addrToken struct {
	kind addrTokenKind
	text string // the word; the special character
	// space is set when white space or a comment came before the token.
	space bool
}

type addrParser struct {
	s      []byte
	pos    int
	out    []address
	budget *int // addresses and group starts that may still be kept
}

// add keeps a unless the budget is spent, and reports whether it did.
func (p *addrParser) add(a address) bool {
	if a.Group != groupEnd {
		if *p.budget <= 0 {
			return false
		}
		*p.budget--
	}
	p.out = append(p.out, a)
	return true
}

// parseAddressList parses a raw (possibly folded) address-list field
// value, keeping at most *budget addresses and group starts (and the end
// of each group kept); it decrements *budget by what it keeps.
func parseAddressList(v []byte, budget *int) []address {
	p := &addrParser{s: v, budget: budget}
	for {
		t := p.peek()
		switch {
		case t.kind == tokEOF:
			return p.out
		case t.kind == tokSpecial && (t.text == "," || t.text == ";" || t.text == ">"):
			p.next()
		default:
			p.address(false)
		}
	}
}

// address parses one mailbox or group.
func (p *addrParser) address(inGroup bool) {
	var words []addrToken
	for {
		t := p.peek()
		if t.kind == tokWord || t.kind == tokLiteral || t.kind == tokSpecial && t.text == "." {
			words = append(words, p.next())
			continue
		}
		if t.kind == tokEOF || t.kind != tokSpecial {
			break
		}
		switch t.text {
		case "<":
			p.next()
			a := p.angleAddr()
			a.Name = phrase(words)
			p.add(a)
			return
		case ":":
			p.next()
			if inGroup {
				// Groups do not nest: drop the words and go on.
				return
			}
			kept := p.add(address{Mailbox: phrase(words), Group: groupStart})
			p.groupList()
			if kept {
				p.add(address{Group: groupEnd})
			}
			return
		case "@":
			p.next()
			local := localPart(words)
			host := p.domain(">,;<:")
			a := address{Mailbox: local, Host: host, Name: p.trailingComment()}
			fillMissing(&a)
			p.add(a)
			return
		}
		break
	}
	switch {
	case len(words) == 0:
		// A stray special (">" or "@" alone is handled above): skip it.
		if t := p.peek(); t.kind != tokEOF {
			p.next()
		}
	case len(words) == 1:
		// A word without "@": a mailbox without domain.
		a := address{Mailbox: words[0].text, Name: p.trailingComment()}
		fillMissing(&a)
		p.add(a)
	default:
		// A phrase without an address.
		p.add(address{Name: phrase(words), Mailbox: missingMailbox, Host: missingDomain})
	}
}

// groupList parses the mailboxes of a group up to ";" or the end.
func (p *addrParser) groupList() {
	for {
		t := p.peek()
		switch {
		case t.kind == tokEOF:
			return
		case t.kind == tokSpecial && t.text == ";":
			p.next()
			return
		case t.kind == tokSpecial && (t.text == "," || t.text == ">"):
			p.next()
		default:
			p.address(true)
		}
	}
}

// angleAddr parses what follows "<": [obs-route] addr-spec ">".
func (p *addrParser) angleAddr() address {
	var a address
	if t := p.peek(); t.kind == tokSpecial && (t.text == "@" || t.text == ",") {
		a.ADL = p.route()
	}
	var words []addrToken
	for {
		t := p.peek()
		if t.kind == tokWord || t.kind == tokLiteral || t.kind == tokSpecial && t.text == "." {
			words = append(words, p.next())
			continue
		}
		break
	}
	a.Mailbox = localPart(words)
	if t := p.peek(); t.kind == tokSpecial && t.text == "@" {
		p.next()
		a.Host = p.domain(">,;<:")
	}
	if t := p.peek(); t.kind == tokSpecial && t.text == ">" {
		p.next()
	}
	fillMissing(&a)
	return a
}

// route parses obs-domain-list ":" and returns it as "@a,@b".
func (p *addrParser) route() string {
	var b strings.Builder
	for {
		t := p.peek()
		switch {
		case t.kind == tokSpecial && t.text == ",":
			p.next()
		case t.kind == tokSpecial && t.text == "@":
			p.next()
			d := p.domain(",:>;<@")
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString("@" + d)
		case t.kind == tokSpecial && t.text == ":":
			p.next()
			return b.String()
		default:
			// Not a route after all ("<@x>"): what was read is lost, as
			// it would be from a malformed address anyway.
			return b.String()
		}
	}
}

// domain parses a domain: dot-atoms, a domain-literal, or obs-domain
// with CFWS around the dots, stopping before any of stop.
func (p *addrParser) domain(stop string) string {
	var b strings.Builder
	for {
		t := p.peek()
		if t.kind == tokEOF || t.kind == tokSpecial && strings.Contains(stop, t.text) {
			break
		}
		if t.kind == tokSpecial && t.text != "." {
			break
		}
		// A word after a word without a dot between starts something
		// else (a missing comma): stop.
		if b.Len() > 0 && t.kind != tokSpecial && !strings.HasSuffix(b.String(), ".") {
			break
		}
		b.WriteString(p.next().text)
	}
	return b.String()
}

// trailingComment skips CFWS and returns the last comment in it.
func (p *addrParser) trailingComment() string {
	_, c := p.skipCFWS()
	return c
}

func fillMissing(a *address) {
	if a.Mailbox == "" {
		a.Mailbox = missingMailbox
	}
	if a.Host == "" {
		a.Host = missingDomain
	}
}

// phrase joins words as a display name: one space where the header had
// white space or a comment, none around a "." written without.
func phrase(words []addrToken) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 && w.space {
			b.WriteByte(' ')
		}
		b.WriteString(w.text)
	}
	return b.String()
}

// localPart joins words as a local part: white space dropped (obs-local-part).
func localPart(words []addrToken) string {
	var b strings.Builder
	for _, w := range words {
		b.WriteString(w.text)
	}
	return b.String()
}

// peek skips CFWS and returns the next token without consuming it.
func (p *addrParser) peek() addrToken {
	save := p.pos
	t := p.next()
	p.pos = save
	return t
}

// skipCFWS skips white space and comments; it reports whether there were
// any and returns the text of the last comment.
func (p *addrParser) skipCFWS() (space bool, comment string) {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
		case '(':
			comment = p.readComment()
		default:
			return space || comment != "", comment
		}
		space = true
	}
	return space, comment
}

// next skips CFWS and consumes the next token.
func (p *addrParser) next() addrToken {
	space, _ := p.skipCFWS()
	if p.pos >= len(p.s) {
		return addrToken{kind: tokEOF, space: space}
	}
	c := p.s[p.pos]
	switch c {
	case '<', '>', ':', ';', '@', ',', '.', ')', ']', 0:
		// ")", "]" and NUL are not allowed here: specials nobody
		// expects, so they are skipped.
		p.pos++
		return addrToken{kind: tokSpecial, text: string(c), space: space}
	case '"':
		return addrToken{kind: tokWord, text: p.readQuoted(), space: space}
	case '[':
		return addrToken{kind: tokLiteral, text: p.readLiteral(), space: space}
	}
	start := p.pos
	for p.pos < len(p.s) && isAddrAtomChar(p.s[p.pos]) {
		p.pos++
	}
	return addrToken{kind: tokWord, text: cleanText(p.s[start:p.pos]), space: space}
}

func isAddrAtomChar(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '(', ')', '<', '>', '[', ']', ':', ';', '@', ',', '.', '"', 0:
		return false
	}
	return true
}

// readQuoted reads a quoted-string and returns its content with quoting
// removed; folds are unfolded. An unterminated one ends at the end.
func (p *addrParser) readQuoted() string {
	p.pos++ // '"'
	var b []byte
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case '"':
			return string(b)
		case '\\':
			if p.pos < len(p.s) {
				c = p.s[p.pos]
				p.pos++
			}
		case '\r', '\n':
			continue
		}
		if c != 0 && c != '\r' && c != '\n' {
			b = append(b, c)
		}
	}
	return string(b)
}

// readComment reads a comment, nested ones included, and returns its
// text with quoting removed and inner white space kept.
func (p *addrParser) readComment() string {
	depth := 0
	var b []byte
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case '(':
			depth++
			if depth == 1 {
				continue
			}
		case ')':
			depth--
			if depth == 0 {
				return strings.TrimSpace(string(b))
			}
		case '\\':
			if p.pos < len(p.s) {
				c = p.s[p.pos]
				p.pos++
			}
		case '\r', '\n':
			continue
		}
		if c != 0 {
			b = append(b, c)
		}
	}
	return strings.TrimSpace(string(b))
}

// readLiteral reads a domain-literal "[...]", brackets kept.
func (p *addrParser) readLiteral() string {
	start := p.pos
	p.pos++
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		if c == '\\' && p.pos < len(p.s) {
			p.pos++
			continue
		}
		if c == ']' {
			break
		}
	}
	return cleanText(p.s[start:p.pos])
}

// cleanText drops CR, LF and NUL.
func cleanText(b []byte) string {
	if !strings.ContainsAny(string(b), "\r\n\x00") {
		return string(b)
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return -1
		}
		return r
	}, string(b))
}
