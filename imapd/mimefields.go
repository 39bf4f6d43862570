package imapd

import (
	"slices"
	"strings"
)

// The Content-* fields of a MIME part header, for BODYSTRUCTURE: RFC 2045
// §5.1 (Content-Type syntax), RFC 2183 (Content-Disposition), RFC 3282
// (Content-Language), RFC 2231 (parameter continuations).

// parsePartHeader fills b from the Content-* fields of a part header.
// The first of each field counts.
func parsePartHeader(b *bodyPart, header []byte, digest bool) {
	var typ, enc, disp, lang []byte
	var haveType, haveEnc, haveDisp, haveLang bool
	forEachField(header, func(name string, value []byte) {
		if len(name) < 8 || !equalFoldASCII(name[:8], "content-") {
			return
		}
		switch strings.ToLower(name[8:]) {
		case "type":
			if !haveType {
				typ, haveType = value, true
			}
		case "transfer-encoding":
			if !haveEnc {
				enc, haveEnc = value, true
			}
		case "id":
			if !b.ID.Valid {
				b.ID = nstring{unstructured(value), true}
			}
		case "description":
			if !b.Description.Valid {
				b.Description = nstring{unstructured(value), true}
			}
		case "md5":
			if !b.MD5.Valid {
				b.MD5 = nstring{unstructured(value), true}
			}
		case "location":
			if !b.Location.Valid {
				b.Location = nstring{unstructured(value), true}
			}
		case "disposition":
			if !haveDisp {
				disp, haveDisp = value, true
			}
		case "language":
			if !haveLang {
				lang, haveLang = value, true
			}
		}
	})
	var ok bool
	if haveType {
		b.Type, b.Subtype, b.Params, ok = parseContentType(typ)
	}
	if !ok {
		// RFC 2045 §5.2; RFC 2046 §5.1.5 for digest.
		if digest {
			b.Type, b.Subtype, b.Params = "message", "rfc822", nil
		} else {
			b.Type, b.Subtype, b.Params = "text", "plain", nil
		}
	}
	if b.isText() && !slices.ContainsFunc(b.Params, func(p param) bool { return equalFoldASCII(p.Name, "charset") }) {
		// RFC 2046 §4.1.2: the default charset.
		b.Params = append(b.Params, param{"charset", "us-ascii"})
	}
	b.Encoding = "7bit"
	if e := (&mimeLexer{s: enc}).token(); e != "" {
		b.Encoding = e
	}
	if haveDisp {
		l := &mimeLexer{s: disp}
		if d := l.token(); d != "" {
			b.Disposition = d
			b.DispParams = l.params()
		}
	}
	if haveLang {
		b.Language = parseLanguages(lang)
	}
}

// parseContentType parses a Content-Type value (RFC 2045 §5.1): type "/"
// subtype *(";" parameter). ok is false when the type or subtype is
// missing.
func parseContentType(v []byte) (typ, sub string, params []param, ok bool) {
	l := &mimeLexer{s: v}
	typ = l.token()
	l.skipCFWS()
	if typ == "" || !l.consume('/') {
		return "", "", nil, false
	}
	sub = l.token()
	if sub == "" {
		return "", "", nil, false
	}
	return typ, sub, l.params(), true
}

// parseLanguages parses a Content-Language value (RFC 3282 §2): language
// tags separated by commas.
func parseLanguages(v []byte) []string {
	l := &mimeLexer{s: v}
	var tags []string
	for {
		l.skipCFWS()
		if l.pos >= len(l.s) {
			return tags
		}
		if t := l.token(); t != "" {
			if len(tags) < maxPartParams {
				tags = append(tags, t)
			}
			continue
		}
		l.pos++ // a comma or a stray special
	}
}

// mimeLexer reads RFC 2045 §5.1 tokens, quoted strings and comments.
type mimeLexer struct {
	s   []byte
	pos int
}

func (l *mimeLexer) skipCFWS() {
	depth := 0
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		switch {
		case depth > 0 && c == '\\':
			l.pos++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n':
			return
		}
		l.pos++
	}
}

func (l *mimeLexer) consume(c byte) bool {
	if l.pos < len(l.s) && l.s[l.pos] == c {
		l.pos++
		return true
	}
	return false
}

// isTSpecial: RFC 2045 §5.1 tspecials, plus white space and controls.
// 8-bit bytes are allowed in tokens, as mail in the wild has them.
func isTSpecial(c byte) bool {
	return c <= ' ' || c == 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0
}

// token skips CFWS and reads a token ("" if there is none).
func (l *mimeLexer) token() string {
	l.skipCFWS()
	start := l.pos
	for l.pos < len(l.s) && !isTSpecial(l.s[l.pos]) {
		l.pos++
	}
	return string(l.s[start:l.pos])
}

// value reads a parameter value: a quoted-string (quoting removed) or a
// token.
func (l *mimeLexer) value() string {
	l.skipCFWS()
	if !l.consume('"') {
		return l.token()
	}
	var b []byte
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		l.pos++
		switch c {
		case '"':
			return string(b)
		case '\\':
			if l.pos < len(l.s) {
				c = l.s[l.pos]
				l.pos++
			}
		case '\r', '\n':
			continue
		}
		if c != 0 {
			b = append(b, c)
		}
	}
	return string(b)
}

// params reads *(";" attribute "=" value), skipping what does not parse
// up to the next ";", then joins RFC 2231 continuations.
func (l *mimeLexer) params() []param {
	var ps []param
	for {
		// Find the next ";".
		for l.skipCFWS(); l.pos < len(l.s) && l.s[l.pos] != ';'; l.skipCFWS() {
			if l.s[l.pos] == '"' {
				l.value()
			} else {
				l.pos++
			}
		}
		if !l.consume(';') {
			break
		}
		name := l.token()
		l.skipCFWS()
		if name == "" || !l.consume('=') {
			continue
		}
		if v := l.value(); len(ps) < maxPartParams {
			ps = append(ps, param{name, v})
		}
	}
	return joinContinuations(ps)
}

// joinContinuations joins RFC 2231 §3 continuations (name*0, name*1, ...
// and the extended name*0*, name*1*) into one parameter: "name", or
// "name*" with the charset'language' prefix kept when the first segment
// is extended; plain segments after an extended one are percent-encoded
// (RFC 2231 §4). Parameters without "*" keep their order and come first;
// the others follow sorted by name, as Dovecot sends them.
func joinContinuations(ps []param) []param {
	if !slices.ContainsFunc(ps, func(p param) bool { return strings.Contains(p.Name, "*") }) {
		return ps
	}
	type segment struct {
		n        int
		extended bool
		value    string
	}
	type group struct {
		name     string
		segments []segment
		single   *param // name* without a number
	}
	var out []param
	var groups []*group
	find := func(name string) *group {
		for _, g := range groups {
			if equalFoldASCII(g.name, name) {
				return g
			}
		}
		g := &group{name: name}
		groups = append(groups, g)
		return g
	}
	for _, p := range ps {
		star := strings.IndexByte(p.Name, '*')
		if star < 0 {
			out = append(out, p)
			continue
		}
		base, rest := p.Name[:star], p.Name[star+1:]
		g := find(base)
		if rest == "" {
			if g.single == nil {
				g.single = &param{base + "*", p.Value}
			}
			continue
		}
		ext := strings.HasSuffix(rest, "*")
		num := strings.TrimSuffix(rest, "*")
		n := 0
		valid := num != "" && len(num) <= 4 && (num == "0" || num[0] != '0')
		for i := 0; valid && i < len(num); i++ {
			if num[i] < '0' || num[i] > '9' {
				valid = false
			}
			n = n*10 + int(num[i]-'0')
		}
		if !valid {
			out = append(out, p)
			continue
		}
		g.segments = append(g.segments, segment{n, ext, p.Value})
	}
	slices.SortStableFunc(groups, func(a, b *group) int { return strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name)) })
	for _, g := range groups {
		if len(g.segments) == 0 {
			if g.single != nil {
				out = append(out, *g.single)
			}
			continue
		}
		slices.SortStableFunc(g.segments, func(a, b segment) int { return a.n - b.n })
		var v strings.Builder
		extended := g.segments[0].extended
		for i, s := range g.segments {
			if s.n != i {
				break // a gap: what follows is lost (RFC 2231 §3)
			}
			if extended && !s.extended {
				v.WriteString(percentEncode(s.value))
			} else {
				v.WriteString(s.value)
			}
		}
		name := g.name
		if extended {
			name += "*"
		}
		out = append(out, param{name, v.String()})
	}
	return out
}

// percentEncode encodes what is not an RFC 2231 attribute-char.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > ' ' && c < 0x7f && !isTSpecial(c) && c != '*' && c != '\'' && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
