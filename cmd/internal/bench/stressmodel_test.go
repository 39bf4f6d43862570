package main

import (
	"bufio"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// feed parses server text (lines joined by CRLF) into m while cmd is in
// progress and returns the error kinds found.
func feed(t *testing.T, m *mailboxModel, cmd string, text string) []string {
	t.Helper()
	m.cmd = cmd
	defer func() { m.cmd = "" }()
	r := bufio.NewReader(strings.NewReader(text))
	var kinds []string
	for {
		wl, err := readWireLine(r)
		if errors.Is(err, io.EOF) {
			return kinds
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		resp, err := parseResponse(wl)
		if err != nil {
			t.Fatalf("parse %q: %v", wl.text, err)
		}
		for _, e := range m.untagged(resp) {
			kinds = append(kinds, e.kind)
		}
	}
}

// selected is a model after SELECT of three messages (UIDs 5 6 7) with
// $Junk announced.
func selected(t *testing.T) *mailboxModel {
	m := newMailboxModel()
	if k := feed(t, m, "SELECT", "* FLAGS (\\Seen \\Deleted $Junk)\r\n* OK [PERMANENTFLAGS (\\Seen \\Deleted $Junk \\*)] ok\r\n* 3 EXISTS\r\n"); len(k) != 0 {
		t.Fatalf("select: %v", k)
	}
	if k := feed(t, m, "UID FETCH", "* 1 FETCH (UID 5 FLAGS (\\Seen))\r\n* 2 FETCH (UID 6 FLAGS ($Junk))\r\n* 3 FETCH (UID 7 FLAGS ())\r\n"); len(k) != 0 {
		t.Fatalf("fetch: %v", k)
	}
	return m
}

func TestStressModel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cmd, text string
		want            []string
	}{
		{"clean updates", "NOOP", "* 2 EXPUNGE\r\n* 3 EXISTS\r\n* 3 FETCH (UID 9 FLAGS (\\Seen $Junk))\r\n* 1 FETCH (FLAGS ())\r\n", nil},
		{"fetch beyond count", "NOOP", "* 4 FETCH (FLAGS (\\Seen))\r\n", []string{errSeqBeyond}},
		{"expunge beyond count", "NOOP", "* 4 EXPUNGE\r\n", []string{errExpungeBeyond}},
		{"expunge during FETCH", "FETCH", "* 1 EXPUNGE\r\n", []string{errExpungeInCmd}},
		{"expunge during UID FETCH is allowed", "UID FETCH", "* 1 EXPUNGE\r\n", nil},
		{"exists shrank", "NOOP", "* 2 EXISTS\r\n", []string{errExistsShrank}},
		{"keyword not announced", "UID STORE", "* 1 FETCH (UID 5 FLAGS (\\Seen Work))\r\n", []string{errKeywordUnann}},
		{"keyword announced first", "UID STORE", "* FLAGS (\\Seen \\Deleted $Junk Work)\r\n* 1 FETCH (UID 5 FLAGS (\\Seen work))\r\n", nil},
		{"unknown system flag", "NOOP", "* 1 FETCH (FLAGS (\\Bogus))\r\n", []string{errBadSystemFlag}},
		{"size vs body in one response", "UID FETCH", "* 1 FETCH (UID 5 RFC822.SIZE 6 BODY[] {5}\r\nhello)\r\n", []string{errSizeMismatch}},
		{"size vs body across responses", "UID FETCH", "* 1 FETCH (UID 5 RFC822.SIZE 6)\r\n* 1 FETCH (UID 5 BODY[] {5}\r\nhello)\r\n", []string{errSizeMismatch}},
		{"size matches body", "UID FETCH", "* 1 FETCH (UID 5 RFC822.SIZE 5 BODY[] {5}\r\nhello)\r\n", nil},
		{"new UID below the highest", "NOOP", "* 4 EXISTS\r\n* 4 FETCH (UID 4 FLAGS ())\r\n", []string{errUIDBackwards, errUIDOrder}},
		{"UID of a number changed", "UID FETCH", "* 2 FETCH (UID 8 FLAGS ())\r\n", []string{errUIDChanged, errUIDOrder}},
		{"search beyond count", "SEARCH", "* SEARCH 1 4\r\n", []string{errSearchBeyond}},
		{"UID search not checked against the count", "UID SEARCH", "* SEARCH 1 40\r\n", nil},
		{"UID FETCH data without UID", "UID FETCH", "* 1 FETCH (RFC822.SIZE 5)\r\n", []string{errFetchNoUID}},
		{"unsolicited flags without UID during UID FETCH", "UID FETCH", "* 1 FETCH (FLAGS (\\Seen))\r\n", nil},
		{"VANISHED unasked", "NOOP", "* VANISHED 5\r\n", []string{errVanishedUnasked}},
		{"FETCH not a list", "NOOP", "* 1 FETCH UID 5\r\n", []string{errMalformedResp}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := selected(t)
			got := feed(t, m, tc.cmd, tc.text)
			if !slices.Equal(got, tc.want) {
				t.Errorf("errors %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStressModelBookkeeping(t *testing.T) {
	t.Parallel()
	m := selected(t)
	feed(t, m, "NOOP", "* 1 EXPUNGE\r\n* 4 EXISTS\r\n")
	if m.count() != 4 || m.unknown() != 2 || m.uids[0] != 6 || m.maxUID != 7 {
		t.Fatalf("count %d unknown %d uids %v max %d", m.count(), m.unknown(), m.uids, m.maxUID)
	}
	if k := feed(t, m, "UID FETCH", "* 3 FETCH (UID 8 FLAGS ())\r\n* 4 FETCH (UID 12 FLAGS ())\r\n"); len(k) != 0 {
		t.Fatalf("errors %v", k)
	}
	if !slices.Equal(m.uids, []uint32{6, 7, 8, 12}) || m.unknown() != 0 {
		t.Fatalf("uids %v", m.uids)
	}
	// UID SEARCH results are kept for the final comparison.
	feed(t, m, "UID SEARCH", "* SEARCH 6 7 8 12\r\n")
	if !slices.Equal(m.lastSearch, m.uids) {
		t.Fatalf("lastSearch %v", m.lastSearch)
	}
	// An update repeating known flags is counted, not an error.
	if k := feed(t, m, "NOOP", "* 4 FETCH (FLAGS ())\r\n* 3 FETCH (FLAGS (\\Seen))\r\n"); len(k) != 0 || m.redundant != 1 {
		t.Fatalf("errors %v, redundant %d", k, m.redundant)
	}
	// The reply to this session's STORE is kept for the client's check.
	m.watchUID = 8
	feed(t, m, "UID STORE", "* 1 FETCH (UID 6 FLAGS (\\Seen))\r\n* 3 FETCH (UID 8 FLAGS (\\Seen $Junk))\r\n")
	if len(m.watched) != 1 || !slices.Equal(m.watched[0], []string{`\seen`, "$junk"}) {
		t.Fatalf("watched %q", m.watched)
	}
}

func TestStressModelVanished(t *testing.T) {
	t.Parallel()
	m := selected(t)
	m.qresync = true
	// 6 goes, and one of the two messages known only by EXISTS.
	if k := feed(t, m, "NOOP", "* 5 EXISTS\r\n* VANISHED 6,9\r\n* VANISHED (EARLIER) 1:4\r\n"); len(k) != 0 {
		t.Fatalf("errors %v", k)
	}
	if !slices.Equal(m.uids, []uint32{5, 7, 0}) {
		t.Fatalf("uids %v", m.uids)
	}
	if k := feed(t, m, "NOOP", "* VANISHED 6\r\n"); !slices.Equal(k, []string{errVanishedGone}) {
		t.Fatalf("VANISHED of a gone UID: %v", k)
	}
	if k := feed(t, m, "FETCH", "* VANISHED 5\r\n"); !slices.Equal(k, []string{errExpungeInCmd}) || !slices.Equal(m.uids, []uint32{7, 0}) {
		t.Fatalf("VANISHED during FETCH: %v %v", k, m.uids)
	}
}

func TestParseResponse(t *testing.T) {
	t.Parallel()
	r := bufio.NewReader(strings.NewReader("* 12 FETCH (UID 40 BODY[HEADER.FIELDS (From Subject)] {4}\r\nab\r\n BODY[1]<0> \"q\\\"x\" FLAGS (\\Seen $X))\r\n" +
		"s3 OK [APPENDUID 99 41] done\r\n+ idling\r\n* 1 FETCH (UID\r\n* BAD\nx\r\n"))
	wl, err := readWireLine(r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := parseResponse(wl)
	if err != nil {
		t.Fatal(err)
	}
	items := resp.args[0].list
	if resp.num != 12 || resp.word != "FETCH" || len(items) != 8 || items[2].atom != "BODY[HEADER.FIELDS (From Subject)]" ||
		string(items[3].str) != "ab\r\n" || items[4].atom != "BODY[1]<0>" || string(items[5].str) != `q"x` || len(items[7].list) != 2 {
		t.Fatalf("parsed %+v", resp)
	}
	wl, _ = readWireLine(r)
	resp, err = parseResponse(wl)
	if err != nil || resp.tag != "s3" || resp.code != "APPENDUID" || len(resp.args) != 2 || resp.args[1].atom != "41" || resp.text != "done" {
		t.Fatalf("tagged: %+v %v", resp, err)
	}
	wl, _ = readWireLine(r)
	if resp, err = parseResponse(wl); err != nil || resp.tag != "+" {
		t.Fatalf("continuation: %+v %v", resp, err)
	}
	wl, _ = readWireLine(r)
	if _, err = parseResponse(wl); !errors.Is(err, errMalformed) {
		t.Fatalf("unclosed list: %v", err)
	}
	if _, err = readWireLine(r); !errors.Is(err, errMalformed) {
		t.Fatalf("bare LF: %v", err)
	}
}

// FuzzStressResponse: no input makes the reader, parser or model panic.
func FuzzStressResponse(f *testing.F) {
	f.Add("* 1 FETCH (UID 5 RFC822.SIZE 5 BODY[] {5}\r\nhello)\r\n")
	f.Add("* 3 EXPUNGE\r\n* FLAGS (\\Seen a)\r\n* OK [PERMANENTFLAGS (\\*)] x\r\n")
	f.Add("* SEARCH 1 2 3\r\ns1 NO [TRYCREATE] x\r\n+ go\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		m := newMailboxModel()
		m.uids = []uint32{3, 5, 0}
		m.cmd = "FETCH"
		r := bufio.NewReader(strings.NewReader(s))
		for range 100 {
			wl, err := readWireLine(r)
			if err != nil {
				return
			}
			if resp, err := parseResponse(wl); err == nil {
				m.untagged(resp)
			}
		}
	})
}
