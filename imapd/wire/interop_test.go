package wire

import (
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// parsed is what the scripted server read for one command.
type parsed struct {
	name   string
	fetch  *imap.FetchOptions
	search *Search
	store  *imap.StoreFlags
	sopts  *StoreModifiers
	login  [2]string
	err    error
}

// scriptedServer answers every command with OK after parsing it with
// this package, and reports what it parsed.
func scriptedServer(conn net.Conn, out chan<- parsed) {
	defer close(out)
	w := NewWriter(conn)
	r := NewReader(conn, Options{Continue: func() error { return w.Continuation("go ahead") }})
	w.Status("", imap.StatusResponseTypeOK, "CAPABILITY IMAP4rev1 CONDSTORE BINARY ESEARCH", "ready")
	if w.Flush() != nil {
		return
	}
	for {
		tag, name, err := r.ReadCommand()
		if err != nil && !IsSyntax(err) {
			return
		}
		p := parsed{name: name, err: err}
		uid := false
		if err == nil && name == "UID" {
			if err = r.ReadSP(); err == nil {
				name, err = r.ReadAtom()
				name, uid = strings.ToUpper(name), true
				p.name = "UID " + name
			}
		}
		if err == nil {
			switch name {
			case "LOGIN":
				if err = r.ReadSP(); err == nil {
					if p.login[0], err = r.ReadAString(); err == nil {
						if err = r.ReadSP(); err == nil {
							p.login[1], err = r.ReadAString()
						}
					}
				}
			case "SELECT":
				if err = r.ReadSP(); err == nil {
					_, err = r.ReadMailbox()
				}
			case "SEARCH":
				p.search, err = r.ReadSearch()
			case "FETCH", "STORE":
				if err = r.ReadSP(); err == nil {
					if _, err = r.ReadNumSet(uid); err == nil {
						if err = r.ReadSP(); err == nil {
							if name == "FETCH" {
								p.fetch, _, err = r.ReadFetchItems()
							} else {
								p.store, p.sopts, err = r.ReadStore()
							}
						}
					}
				}
			}
		}
		if err == nil {
			err = r.ReadCRLF()
		}
		p.err = err
		if err != nil {
			w.Status(tag, imap.StatusResponseTypeBad, "", err.Error())
			if se := r.Skip(); se != nil {
				return
			}
		} else {
			if name == "CAPABILITY" {
				w.Untagged().Atom("CAPABILITY IMAP4rev1 CONDSTORE BINARY ESEARCH").CRLF()
			}
			w.Status(tag, imap.StatusResponseTypeOK, "", name+" completed")
		}
		out <- p
		if w.Flush() != nil {
			return
		}
	}
}

// go-imap's client is a real peer: what it encodes from its own types,
// this package parses back into the same values.
func TestInteropGoIMAPClient(t *testing.T) {
	t.Parallel()
	srvConn, cliConn := net.Pipe()
	defer cliConn.Close()
	got := make(chan parsed, 1)
	go scriptedServer(srvConn, got)
	c := imapclient.New(cliConn, nil)
	defer c.Close()
	var next func(t *testing.T) parsed
	next = func(t *testing.T) parsed {
		t.Helper()
		select {
		case p := <-got:
			if p.name == "CAPABILITY" {
				return next(t)
			}
			if p.err != nil {
				t.Fatalf("%s: server parse error: %v", p.name, p.err)
			}
			return p
		case <-time.After(10 * time.Second):
			t.Fatal("server read nothing")
		}
		return parsed{}
	}

	// A non-ASCII password goes as a synchronising literal.
	errc := make(chan error, 1)
	go func() { errc <- c.Login("smith", "pässwörd\"").Wait() }()
	if p := next(t); p.login != [2]string{"smith", "pässwörd\""} {
		t.Fatalf("login %q", p.login)
	}
	if err := <-errc; err != nil {
		t.Fatalf("client login: %v", err)
	}
	go func() { _, err := c.Select("Entwürfe", nil).Wait(); errc <- err }()
	next(t)
	if err := <-errc; err != nil {
		t.Fatalf("select: %v", err)
	}

	day := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
	criteria := []*imap.SearchCriteria{
		{Flag: []imap.Flag{imap.FlagSeen, "$Junk"}, NotFlag: []imap.Flag{imap.FlagDeleted}},
		{Since: day, Before: day.AddDate(0, 0, 1), SentBefore: day, Larger: 10, Smaller: 20000},
		{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "ä@example.org"}, {Key: "X-Spam", Value: "yes"}},
			Body: []string{"multi\r\nline"}, Text: []string{"x"}},
		{SeqNum: []imap.SeqSet{{{Start: 1, Stop: 5}}}, UID: []imap.UIDSet{{{Start: 7, Stop: 0}}}},
		{Not: []imap.SearchCriteria{{Flag: []imap.Flag{imap.FlagAnswered}}},
			Or: [][2]imap.SearchCriteria{{{Text: []string{"a"}}, {Flag: []imap.Flag{imap.FlagDraft}}}}},
		{ModSeq: &imap.SearchCriteriaModSeq{ModSeq: 42}},
	}
	for i, want := range criteria {
		go func() { _, err := c.UIDSearch(want, nil).Wait(); errc <- err }()
		p := next(t)
		if err := <-errc; err != nil {
			t.Fatalf("search %d: %v", i, err)
		}
		if p.search == nil {
			t.Fatalf("search %d: server read %s", i, p.name)
		}
		if !reflect.DeepEqual(p.search.Criteria, want) {
			t.Errorf("search %d:\n got %+v\nwant %+v", i, p.search.Criteria, want)
		}
	}

	fetches := []*imap.FetchOptions{
		{Flags: true, UID: true, InternalDate: true, RFC822Size: true, Envelope: true,
			BodyStructure: &imap.FetchItemBodyStructure{Extended: true}},
		{BodySection: []*imap.FetchItemBodySection{
			{Peek: true, Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"From", "Subject"}},
			{Part: []int{1, 2}, Specifier: imap.PartSpecifierMIME},
			{Part: []int{2}, Partial: &imap.SectionPartial{Offset: 100, Size: 50}},
		}},
		{BinarySection: []*imap.FetchItemBinarySection{{Part: []int{1}, Peek: true}},
			BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: []int{2}}}, ModSeq: true},
		{Flags: true, ChangedSince: 99, ModSeq: true},
	}
	for i, want := range fetches {
		go func() { errc <- c.Fetch(imap.SeqSetNum(1, 3), want).Close() }()
		p := next(t)
		if err := <-errc; err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		if !reflect.DeepEqual(p.fetch, want) {
			t.Errorf("fetch %d:\n got %+v\nwant %+v", i, p.fetch, want)
		}
	}

	stores := []struct {
		flags *imap.StoreFlags
		opts  *imap.StoreOptions
	}{
		{&imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen, "$Forwarded"}}, &imap.StoreOptions{}},
		{&imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{imap.FlagFlagged}}, &imap.StoreOptions{UnchangedSince: 12}},
		{&imap.StoreFlags{Op: imap.StoreFlagsSet}, &imap.StoreOptions{}},
	}
	for i, s := range stores {
		go func() { errc <- c.Store(imap.UIDSetNum(4), s.flags, s.opts).Close() }()
		p := next(t)
		if err := <-errc; err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
		var want StoreModifiers
		if s.opts.UnchangedSince != 0 {
			want.UnchangedSince = &s.opts.UnchangedSince
		}
		if !reflect.DeepEqual(p.store, s.flags) || !reflect.DeepEqual(*p.sopts, want) {
			t.Errorf("store %d: got %+v %+v, want %+v %+v", i, p.store, p.sopts, s.flags, s.opts)
		}
	}
}
