package thread

import (
	"mime"
	"strings"

	"github.com/emersion/go-message/charset"
)

// BaseSubject returns the base subject of a Subject header value, the
// text SORT SUBJECT and both THREAD algorithms compare (RFC 5256 §2.1).
func BaseSubject(subject string) string {
	base, _ := ParseSubject(subject)
	return base
}

// ParseSubject returns the base subject of a Subject header value and
// whether the message is a reply or forward: RFC 5256 §3 (REFERENCES step
// 5) calls a message so when extracting the base subject removed a
// subj-refwd ("Re:", "Fwd:", ...), a "(fwd)" subj-trailer, or a
// subj-fwd-hdr and subj-fwd-trl ("[fwd: ...]").
//
// The steps are those of RFC 5256 §2.1:
//
//	(1) decode RFC 2047 encoded words to UTF-8; tabs and continuations
//	    become spaces; runs of spaces become one space;
//	(2) remove subj-trailer ("(fwd)" or WSP) from the end, repeatedly;
//	(3) remove a subj-leader (*subj-blob subj-refwd, or WSP) from the start;
//	(4) remove a leading subj-blob if something non-empty remains;
//	(5) repeat (3) and (4) until neither matches;
//	(6) if the text is "[fwd:" ... "]", remove those and repeat from (2).
//
// ABNF literals are case-insensitive (RFC 5234 §2.3).
func ParseSubject(subject string) (base string, replyOrForward bool) {
	s := normalizeSpace(decodeWords(subject))
	for {
		// (2)
		for {
			if t := strings.TrimRight(s, " "); t != s {
				s = t
				continue
			}
			if len(s) >= 5 && strings.EqualFold(s[len(s)-5:], "(fwd)") {
				s = s[:len(s)-5]
				replyOrForward = true
				continue
			}
			break
		}
		// (3), (4), (5)
		for {
			if s != "" && s[0] == ' ' {
				s = s[1:]
				continue
			}
			leader, blobsEnd, lastBlob := scanLeader(s)
			if leader > 0 {
				s = s[leader:]
				replyOrForward = true
				continue
			}
			// No subj-refwd follows the run of subj-blobs at the start,
			// so step (4) would remove them one by one, each time finding
			// no leader: remove the run at once, all of it if text
			// follows it, else all but the last blob (the subj-base).
			if blobsEnd > 0 && blobsEnd < len(s) {
				s = s[blobsEnd:]
				continue
			}
			if lastBlob > 0 {
				s = s[lastBlob:]
				continue
			}
			break
		}
		// (6)
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			replyOrForward = true
			continue
		}
		return s, replyOrForward
	}
}

// decodeWords decodes RFC 2047 encoded words, in any charset go-message
// knows. A value that does not decode is used as it is.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d := mime.WordDecoder{CharsetReader: charset.Reader}
	out, err := d.DecodeHeader(s)
	if err != nil {
		return s
	}
	return out
}

// normalizeSpace is step (1)'s white space rule: continuations (CRLF
// before white space) are removed, tabs become spaces, and runs of
// spaces become one.
func normalizeSpace(s string) string {
	if !strings.ContainsAny(s, "\t\r\n") && !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' && i+2 < len(s) && s[i+1] == '\n' && (s[i+2] == ' ' || s[i+2] == '\t') {
			i++ // the folding CRLF; the white space after it follows
			continue
		}
		if c == '\t' {
			c = ' '
		}
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// blobLen returns the length of the subj-blob at the start of s, 0 if
// there is none.
//
//	subj-blob = "[" *BLOBCHAR "]" *WSP
func blobLen(s string) int {
	if s == "" || s[0] != '[' {
		return 0
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '[', 0:
			return 0
		case ']':
			i++
			for i < len(s) && s[i] == ' ' {
				i++
			}
			return i
		}
	}
	return 0
}

// scanLeader reads the run of subj-blobs at the start of s. If a
// subj-refwd follows it, leader is the length of this subj-leader
// ("*subj-blob subj-refwd"; the other form, one WSP, is the caller's).
// Otherwise blobsEnd is the end of the run (0 if s does not start with a
// blob) and lastBlob the start of its last blob.
//
//	subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
func scanLeader(s string) (leader, blobsEnd, lastBlob int) {
	i := 0
	for {
		if n := refwdLen(s[i:]); n > 0 {
			return i + n, 0, 0
		}
		n := blobLen(s[i:])
		if n == 0 {
			return 0, i, lastBlob
		}
		lastBlob = i
		i += n
	}
}

func refwdLen(s string) int {
	var i int
	switch {
	case hasPrefixFold(s, "fwd"):
		i = 3
	case hasPrefixFold(s, "fw"), hasPrefixFold(s, "re"):
		i = 2
	default:
		return 0
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	i += blobLen(s[i:])
	if i < len(s) && s[i] == ':' {
		return i + 1
	}
	return 0
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
