package imapd

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"yubin/storage"
)

// charsetMessages are headers whose text hides behind RFC 2047 encoded
// words in various charsets; uid i+1 is charsetMessages[i].
var charsetMessages = []string{
	"Subject: =?utf-8?B?TcO8bmNoZW4=?=",                                 // 1 München
	"Subject: =?utf-8?q?M=C3=BCnchen?= Oktoberfest",                     // 2 München
	"Subject: =?iso-8859-1?B?TfxuY2hlbg==?=",                            // 3 München
	"Subject: =?iso-8859-15?B?TfxuY2hlbg==?=",                           // 4 München
	"Subject: =?windows-1252?B?TdxOQ0hFTg==?=",                          // 5 MÜNCHEN
	"Subject: =?utf-8?q?M=C3=BC?= =?utf-8?q?nchen?=",                    // 6 München, split
	"Subject: Trip to =?iso-8859-1?q?M=FCnchen?=, then Berlin",          // 7 München
	"Subject: =?iso-2022-jp?B?GyRCRWw1fiROMnE1RBsoQg==?=",               // 8 東京の会議
	"Subject: =?shift_jis?B?k4yLnoLMie+LYw==?=",                         // 9 東京の会議
	"Subject: =?euc-jp?B?xey1/qW/pe+hvA==?=",                            // 10 東京タワー
	"Subject: =?windows-1251?B?zO7x6uLg?=",                              // 11 Москва
	"Subject: =?koi8-r?B?7c/Ty9fB?=",                                    // 12 Москва
	"Subject: =?iso-8859-7?B?xevr3PI=?=",                                // 13 Ελλάς
	"Subject: =?iso-8859-2?B?o/NkvA==?=",                                // 14 Łódź
	"From: =?utf-8?B?SsO8cmdlbiBHcm/Dnw==?= <jg@example.net>",           // 15 Jürgen Groß
	"To: =?iso-8859-1?B?SvxyZ2Vu?= <j@example.net>\r\nSubject: plain",   // 16 Jürgen
	"Cc: =?iso-2022-jp?B?GyRCRWw1fiROMnE1RBsoQg==?= <tokyo@example.jp>", // 17 東京の会議
	"Subject: Munchen without umlaut\r\nX-Place: =?utf-8?q?K=C3=B6ln?=", // 18
	"Subject: =?x-unknown?q?M=FCnchen?=",                                // 19 unknown charset
}

// TestSearchEncodedWords: SEARCH CHARSET UTF-8 finds text in RFC 2047
// encoded words of any charset, case-insensitively, in SUBJECT, FROM,
// TO, CC and HEADER.
func TestSearchEncodedWords(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	for _, h := range charsetMessages {
		msg := h + "\r\n\r\nbody\r\n"
		if _, err := ts.acct.Deliver(context.Background(), "INBOX", strings.NewReader(msg), storage.DeliverOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c := ts.loginWire(t)
	if _, st := c.cmd("S", "SELECT INBOX"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("SELECT: %s", st)
	}
	cases := []struct{ criteria, want string }{
		{"SUBJECT München", "1 2 3 4 5 6 7"},
		{"SUBJECT MÜNCHEN", "1 2 3 4 5 6 7"},
		{"SUBJECT münchen", "1 2 3 4 5 6 7"},
		{"SUBJECT 東京", "8 9 10"},
		{"SUBJECT 会議", "8 9"},
		{"SUBJECT タワー", "10"},
		{"SUBJECT москва", "11 12"},
		{"SUBJECT ΕΛΛΆΣ", "13"}, // final sigma folds with capital sigma
		{"SUBJECT łÓDŹ", "14"},
		{"FROM jürgen", "15"},
		{"FROM GROSS", ""}, // simple folding: ß is not SS
		{"FROM groß", "15"},
		{"TO JÜRGEN", "16"},
		{"CC 東京", "17"},
		{"HEADER X-Place köln", "18"},
		{"TEXT köln", "18"},
		{"TEXT москва", "11 12"},
		{"SUBJECT =?x-unknown?q?M=FCnchen?=", "19"}, // undecodable: searched as written
		{"OR SUBJECT 東京 FROM jürgen", "8 9 10 15"},
	}
	for i, tc := range cases {
		tag := fmt.Sprintf("T%d", i)
		// Non-ASCII text goes in literals (RFC 3501 §4.3).
		words := strings.Split(tc.criteria, " ")
		for j, w := range words {
			if !isASCII(w) {
				words[j] = fmt.Sprintf("{%d+}\r\n%s", len(w), w)
			}
		}
		cmd := "SEARCH CHARSET UTF-8 " + strings.Join(words, " ")
		untagged, st := c.cmd(tag, cmd)
		if !strings.HasPrefix(st, "OK") {
			t.Errorf("%s: %s", tc.criteria, st)
			continue
		}
		got := ""
		for _, u := range untagged {
			if rest, ok := strings.CutPrefix(u, "* SEARCH"); ok {
				got = strings.TrimSpace(rest)
			}
		}
		if got != tc.want {
			t.Errorf("SEARCH %s = %q, want %q", tc.criteria, got, tc.want)
		}
	}
}

func isASCII(s string) bool { return utf8.RuneCountInString(s) == len(s) }

// FuzzFold checks fold: idempotent, and equal exactly when
// strings.EqualFold says so (for valid UTF-8).
func FuzzFold(f *testing.F) {
	for _, s := range []string{"München", "MÜNCHEN", "Ελλάς", "ΕΛΛΆΣ", "Kelvin \u212a", "ß", "SS", "ǅ", "ǆ", "İi", "ſ", "\xff"} {
		f.Add(s, strings.ToUpper(s))
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		fa, fb := fold(a), fold(b)
		if fold(fa) != fa {
			t.Fatalf("fold(%q) = %q, folds again to %q", a, fa, fold(fa))
		}
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			return
		}
		if eq := strings.EqualFold(a, b); eq != (fa == fb) {
			t.Fatalf("EqualFold(%q, %q) = %v, fold gives %q and %q", a, b, eq, fa, fb)
		}
		if strings.Contains(a, b) && !strings.Contains(fa, fb) {
			t.Fatalf("%q holds %q, folded %q does not hold %q", a, b, fa, fb)
		}
	})
}

// TestSearchKeys: SEARCH keys, CHARSET, RETURN, ESEARCH, SEARCHRES and
// MODSEQ over a socket (RFC 9051 §6.4.4, RFC 4731, RFC 5182, RFC 7162
// §3.1.5).
func TestSearchKeys(t *testing.T) {
	t.Parallel()
	ts, c := fetchServer(t, true)
	// A third message, from an encoded-word name, seen and small.
	if _, err := ts.acct.Deliver(context.Background(), "INBOX", strings.NewReader(
		"From: =?utf-8?q?J=C3=BCrgen?= <jg@example.com>\r\nSubject: third\r\nDate: Tue, 05 Mar 2024 10:00:00 +0000\r\n\r\nx\r\n"),
		storage.DeliverOptions{Flags: []string{`\Seen`}}); err != nil {
		t.Fatal(err)
	}
	c.cmd("S", "EXAMINE INBOX")
	m3, _ := ts.acct.Message(context.Background(), "INBOX", 3)
	ms := strconv.FormatUint(m3.ModSeq, 10)
	cases := []struct{ cmd, want string }{
		{"SEARCH ALL", "* SEARCH 1 2 3"},
		{"SEARCH FROM ann", "* SEARCH 1 2"},
		{"SEARCH FROM \"Ann Example\"", "* SEARCH 1"},
		{"SEARCH FROM example.net", "* SEARCH 1 2"},
		{"SEARCH FROM jürgen", "* SEARCH 3"},
		{"SEARCH FROM JG@EXAMPLE.COM", "* SEARCH 3"},
		{"SEARCH TO bob", "* SEARCH 1"},
		{"SEARCH SUBJECT PARTS", "* SEARCH 2"},
		{"SEARCH HEADER Message-ID p1@", "* SEARCH 1"},
		{"SEARCH HEADER X-Missing \"\"", "* SEARCH"},
		{"SEARCH BODY \"au lait\"", "* SEARCH 2"},
		{"SEARCH TEXT inner", "* SEARCH 2"},
		{"SEARCH KEYWORD $work", "* SEARCH 1"},
		{"SEARCH UNKEYWORD $Work", "* SEARCH 2 3"},
		{"SEARCH FLAGGED", "* SEARCH 1"},
		{"SEARCH UNSEEN", "* SEARCH 1 2"},
		{"SEARCH NOT SEEN OR FLAGGED SUBJECT parts", "* SEARCH 1 2"},
		{"SEARCH 2:*", "* SEARCH 2 3"},
		{"SEARCH *", "* SEARCH 3"},
		{"SEARCH UID 2:*", "* SEARCH 2 3"},
		{"UID SEARCH UID 9:*", "* SEARCH 3"},
		{"SEARCH SMALLER 150", "* SEARCH 3"},
		{"SEARCH LARGER 150 SMALLER 300", "* SEARCH 1"},
		{"SEARCH SENTON 5-Mar-2024", "* SEARCH 3"},
		{"SEARCH SENTBEFORE 1-Jan-2007", "* SEARCH 1"},
		{"SEARCH SENTON 4-Mar-2024", "* SEARCH 2"}, // no Date: the internal date,
		{"SEARCH ON 4-Mar-2024 NOT SEEN", "* SEARCH 1 2"},
		{"SEARCH SINCE 1-Jan-2030", "* SEARCH"},
		{"SEARCH CHARSET US-ASCII SUBJECT third", "* SEARCH 3"},
		{"SEARCH MODSEQ " + ms, "* SEARCH 3 (MODSEQ " + ms + ")"},
		{"SEARCH RETURN (MIN MAX COUNT ALL) ALL", `* ESEARCH (TAG "T") MIN 1 MAX 3 ALL 1:3 COUNT 3`},
		{"UID SEARCH RETURN () UNSEEN", `* ESEARCH (TAG "T") UID ALL 1:2`},
		{"SEARCH RETURN (COUNT) SUBJECT nothing-like-it", `* ESEARCH (TAG "T") COUNT 0`},
		{"SEARCH RETURN (MAX) MODSEQ 1", `* ESEARCH (TAG "T") MAX 3 MODSEQ ` + ms},
		{"SEARCH RETURN (SAVE MIN) UNSEEN", `* ESEARCH (TAG "T") MIN 1`},
		{"SEARCH $", "* SEARCH 1"},
		{"SEARCH RETURN (SAVE) FLAGGED", ""},
		{"UID SEARCH UID $", "* SEARCH 1"},
	}
	for _, tc := range cases {
		words := strings.Split(tc.cmd, " ")
		for j, w := range words {
			if !isASCII(w) {
				words[j] = fmt.Sprintf("{%d+}\r\n%s", len(w), w)
			}
		}
		untagged, st := c.cmd("T", strings.Join(words, " "))
		if !strings.HasPrefix(st, "OK") {
			t.Errorf("%s: %s", tc.cmd, st)
			continue
		}
		got := strings.Join(untagged, "\n")
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.cmd, got, tc.want)
		}
	}
	for cmd, want := range map[string]string{
		"SEARCH CHARSET ISO-8859-1 SUBJECT x": "NO [BADCHARSET (UTF-8 US-ASCII)]",
		"SEARCH FOO":                          "BAD",
		"SEARCH SUBJECT":                      "BAD",
		"SEARCH RETURN (FOO) ALL":             "BAD",
		"SEARCH ON 31-Feb-2024":               "BAD",
		"SEARCH KEYWORD \\Seen":               "BAD",
	} {
		if _, st := c.cmd("E", cmd); !strings.HasPrefix(st, want) {
			t.Errorf("%s: %s, want %s", cmd, st, want)
		}
	}
	// IMAP4rev2 answers ESEARCH without RETURN (RFC 9051 §6.4.4).
	c.cmd("N", "ENABLE IMAP4rev2")
	if untagged, _ := c.cmd("R", "UID SEARCH FLAGGED"); len(untagged) != 1 || untagged[0] != `* ESEARCH (TAG "R") UID ALL 1` {
		t.Errorf("IMAP4rev2 UID SEARCH: %q", untagged)
	}
	if untagged, _ := c.cmd("R", "SEARCH SUBJECT nothing-like-it"); len(untagged) != 1 || untagged[0] != `* ESEARCH (TAG "R")` {
		t.Errorf("IMAP4rev2 SEARCH without matches: %q", untagged)
	}
}
