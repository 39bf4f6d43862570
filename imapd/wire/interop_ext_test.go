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

const extCaps = "IMAP4rev1 LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE CONDSTORE QRESYNC ENABLE " +
	"NAMESPACE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=ORDEREDSUBJECT ID QUOTA QUOTASET QUOTA=RES-STORAGE ACL UIDPLUS ESEARCH STATUS=SIZE BINARY"

// extParsed is what extServer read for one command: the command name and
// the value its reader returned.
type extParsed struct {
	name string
	v    any
	err  error
}

// extServer parses each command with this package's readers, writes the
// untagged responses replies holds for the command (written with this
// package's Writer), then OK.
func extServer(conn net.Conn, replies map[string]func(w *Writer), out chan<- extParsed) {
	defer close(out)
	w := NewWriter(conn)
	r := NewReader(conn, Options{Continue: func() error { return w.Continuation("go ahead") }})
	w.Status("", imap.StatusResponseTypeOK, imap.ResponseCode("CAPABILITY "+extCaps), "ready")
	if w.Flush() != nil {
		return
	}
	for {
		tag, name, err := r.ReadCommand()
		if err != nil && !IsSyntax(err) {
			return
		}
		if err == nil && name == "UID" {
			if err = r.ReadSP(); err == nil {
				name, err = r.ReadAtom()
				name = "UID " + strings.ToUpper(name)
			}
		}
		p := extParsed{name: name}
		if err == nil {
			p.v, err = readExtValue(r, name)
		}
		if err == nil {
			err = r.ReadCRLF()
		}
		p.err = err
		if err != nil {
			w.Status(tag, imap.StatusResponseTypeBad, "", err.Error())
			if r.Skip() != nil {
				return
			}
		} else {
			if f := replies[name]; f != nil {
				f(w)
			}
			w.Status(tag, imap.StatusResponseTypeOK, "", "done")
		}
		out <- p
		if w.Flush() != nil {
			return
		}
	}
}

// readExtValue reads a command's arguments into one value to compare.
func readExtValue(r *Reader, name string) (any, error) {
	two := func(a, b any, err error) (any, error) { return []any{a, b}, err }
	switch name {
	case "LOGIN":
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		if _, err := r.ReadAString(); err != nil {
			return nil, err
		}
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		return r.ReadAString()
	case "LIST":
		return r.ReadListArgs()
	case "STATUS":
		return two(r.ReadStatusArgs())
	case "SELECT", "EXAMINE":
		return two(r.ReadSelectArgs())
	case "ENABLE":
		return r.ReadEnableArgs()
	case "CREATE":
		return two(r.ReadCreateArgs())
	case "RENAME":
		return two(r.ReadRenameArgs())
	case "SORT", "UID SORT":
		return r.ReadSort()
	case "THREAD", "UID THREAD":
		return r.ReadThread()
	case "ID":
		return r.ReadID()
	case "GETQUOTA":
		return r.ReadGetQuotaArgs()
	case "GETQUOTAROOT", "GETACL", "MYRIGHTS":
		return r.ReadMailboxArg()
	case "SETQUOTA":
		return two(r.ReadSetQuotaArgs())
	case "SETACL":
		return r.ReadSetACLArgs()
	case "UID EXPUNGE":
		return r.ReadUIDExpungeArgs()
	case "UID FETCH":
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		if _, err := r.ReadNumSet(true); err != nil {
			return nil, err
		}
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		opts, _, err := r.ReadFetchItems()
		return opts, err
	}
	return nil, nil
}

// TestInteropGoIMAPClientExtensions: go-imap's client encodes the
// extension commands from its types and this package reads them back;
// this package's Writer encodes the responses and the client decodes
// them into the values the server meant.
func TestInteropGoIMAPClientExtensions(t *testing.T) {
	t.Parallel()
	u32 := func(v uint32) *uint32 { return &v }
	size := int64(12345)
	statusData := &imap.StatusData{Mailbox: "Entwürfe", NumMessages: u32(3), UIDNext: 44, UIDValidity: 7, NumUnseen: u32(1),
		NumDeleted: u32(2), Size: &size, HighestModSeq: 9}
	statusOpts := &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, NumUnseen: true, NumDeleted: true,
		Size: true, HighestModSeq: true}
	tree := []*ThreadNode{node(2), node(3, node(6, node(4, node(23)), node(44, node(7, node(96)))))}
	replies := map[string]func(w *Writer){
		"LIST": func(w *Writer) {
			w.List("LIST", []string{`\HasChildren`, `\Subscribed`}, '/', "Fruit", []string{"SUBSCRIBED"}, "")
			w.List("LIST", []string{`\HasNoChildren`, `\Drafts`}, '/', "Entwürfe", nil, "")
			w.StatusData("Entwürfe", StatusItems(&imap.StatusOptions{NumMessages: true, UIDNext: true}, statusData))
		},
		"STATUS":       func(w *Writer) { w.StatusData("Entwürfe", StatusItems(statusOpts, statusData)) },
		"SELECT":       func(w *Writer) { w.Status("", imap.StatusResponseTypeOK, CodeHighestModSeq(715194045007), "Highest") },
		"ENABLE":       func(w *Writer) { w.Enabled([]string{"METADATA", "METADATA-SERVER"}) },
		"UID SORT":     func(w *Writer) { w.SortData([]uint32{5, 3, 9}) },
		"UID THREAD":   func(w *Writer) { w.ThreadData(tree) },
		"ID":           func(w *Writer) { w.ID(map[string]string{"name": "Yubin", "version": "1.0", "vendor": `A "B" \C`}) },
		"GETQUOTA":     func(w *Writer) { w.Quota("", []QuotaResource{{"STORAGE", 10, 512}}) },
		"GETQUOTAROOT": func(w *Writer) { w.QuotaRoot("INBOX", []string{""}).Quota("", []QuotaResource{{"STORAGE", 10, 512}}) },
		"GETACL": func(w *Writer) {
			w.ACL("INBOX", []ACLEntry{{"bob", imap.RightSet("lrs")}, {"anyone", imap.RightSet("l")}})
		},
		"MYRIGHTS": func(w *Writer) { w.MyRights("INBOX", imap.RightSet("lrswipkxtea")) },
		"NAMESPACE": func(w *Writer) {
			w.Namespace(&imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Delim: '/'}},
				Shared: []imap.NamespaceDescriptor{{Prefix: "Geteilt/", Delim: '/'}}})
		},
	}
	internal := time.Date(1996, 7, 7, 2, 44, 25, 0, time.FixedZone("", -7*3600))
	fetch := &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true, ModSeq: true,
		BodySection: []*imap.FetchItemBodySection{
			{Peek: true, Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"From", "Subject"}, Partial: &imap.SectionPartial{Offset: 0, Size: 100}},
			{Part: []int{1, 2}, Specifier: imap.PartSpecifierMIME},
			{Part: []int{2}, Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: []string{"X-Spam"}},
			{},
		},
		// go-imap's client (beta.8) cannot parse the origin of a partial
		// BINARY answer (RFC 3516 §4.2 "BINARY[1]<2>"); it is tested in
		// TestWriteFetchNames.
		BinarySection:     []*imap.FetchItemBinarySection{{Part: []int{1}, Peek: true}},
		BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: []int{1}}},
	}
	replies["UID FETCH"] = func(w *Writer) {
		w.BeginFetch(1).Atom("UID").SP().Number(7).SP().Atom("FLAGS").SP().Flags([]imap.Flag{imap.FlagSeen, "$Junk"}).
			SP().Atom("INTERNALDATE").SP().InternalDate(internal).SP().Atom("RFC822.SIZE").SP().Number(1234)
		for i, sec := range fetch.BodySection {
			w.SP().BodySectionName(sec).SP().Literal([]byte(strings.Repeat("x", i+1)))
		}
		w.SP().BinarySectionName(fetch.BinarySection[0]).SP().Binary([]byte("a\x00b"))
		w.SP().BinarySizeName(fetch.BinarySectionSize[0]).SP().Number(3)
		w.SP().FetchModSeq(77).EndFetch()
	}
	srvConn, cliConn := net.Pipe()
	defer cliConn.Close()
	got := make(chan extParsed, 1)
	go extServer(srvConn, replies, got)
	c := imapclient.New(cliConn, nil)
	defer c.Close()
	// do runs a client call, checks what the server read, and waits for
	// the call's result.
	do := func(what string, call func() error, want any) {
		t.Helper()
		errc := make(chan error, 1)
		go func() { errc <- call() }()
		for {
			select {
			case p := <-got:
				if p.name == "CAPABILITY" {
					continue
				}
				if p.err != nil {
					t.Fatalf("%s: server parse error: %v", what, p.err)
				}
				if want != nil && !reflect.DeepEqual(p.v, want) {
					t.Errorf("%s: server read\n %#v\nwant\n %#v", what, p.v, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: server read nothing", what)
			}
			break
		}
		if err := <-errc; err != nil {
			t.Fatalf("%s: client: %v", what, err)
		}
	}

	do("login", func() error { return c.Login("u", "p").Wait() }, "p")

	var lists []*imap.ListData
	do("list", func() (err error) {
		lists, err = c.List("", "%", &imap.ListOptions{SelectSubscribed: true, SelectRecursiveMatch: true, ReturnChildren: true,
			ReturnStatus: &imap.StatusOptions{NumMessages: true, UIDNext: true}}).Collect()
		return err
	}, &ListArgs{Patterns: []string{"%"}, Extended: true, Options: imap.ListOptions{SelectSubscribed: true, SelectRecursiveMatch: true,
		ReturnSubscribed: true, ReturnChildren: true, ReturnStatus: &imap.StatusOptions{NumMessages: true, UIDNext: true}}})
	if len(lists) != 2 || lists[0].Mailbox != "Fruit" || lists[0].Delim != '/' || lists[0].ChildInfo == nil ||
		!lists[0].ChildInfo.Subscribed || lists[1].Mailbox != "Entwürfe" || lists[1].Status == nil ||
		*lists[1].Status.NumMessages != 3 || lists[1].Status.UIDNext != 44 {
		t.Errorf("list: client read %+v", lists)
	} else if !reflect.DeepEqual(lists[1].Attrs, []imap.MailboxAttr{imap.MailboxAttrHasNoChildren, imap.MailboxAttrDrafts}) {
		t.Errorf("list: attrs %v", lists[1].Attrs)
	}

	var st *imap.StatusData
	do("status", func() (err error) { st, err = c.Status("Entwürfe", statusOpts).Wait(); return err },
		[]any{"Entwürfe", statusOpts})
	if st == nil || !reflect.DeepEqual(*st, *statusData) {
		t.Errorf("status: client read %+v, want %+v", st, statusData)
	}

	var sel *imap.SelectData
	do("select", func() (err error) {
		sel, err = c.Select("INBOX", &imap.SelectOptions{CondStore: true}).Wait()
		return err
	},
		[]any{"INBOX", &SelectParams{CondStore: true}})
	if sel == nil || sel.HighestModSeq != 715194045007 {
		t.Errorf("select: client read %+v", sel)
	}

	var en *imapclient.EnableData
	// The client enables only what changes no syntax it parses.
	do("enable", func() (err error) { en, err = c.Enable(imap.CapMetadata, imap.CapMetadataServer).Wait(); return err },
		[]string{"METADATA", "METADATA-SERVER"})
	if en == nil || !en.Caps.Has(imap.CapMetadata) || !en.Caps.Has(imap.CapMetadataServer) {
		t.Errorf("enable: client read %+v", en)
	}

	do("create", func() error {
		return c.Create("Entwürfe2", &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrDrafts}}).Wait()
	}, []any{"Entwürfe2", &CreateParams{UseGiven: true, SpecialUse: []imap.MailboxAttr{imap.MailboxAttrDrafts}}})
	do("rename", func() error { return c.Rename("a b", "日本語", nil).Wait() }, []any{"a b", "日本語"})

	var sorted []uint32
	do("sort", func() (err error) {
		sorted, err = c.UIDSort(&imapclient.SortOptions{SearchCriteria: &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}},
			SortCriteria: []imapclient.SortCriterion{{Key: imapclient.SortKeyDate, Reverse: true}, {Key: imapclient.SortKeySubject}}}).Wait()
		return err
	}, &Sort{Criteria: []SortCriterion{{Key: SortDate, Reverse: true}, {Key: SortSubject}}, Charset: "UTF-8",
		Search: &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}})
	if !reflect.DeepEqual(sorted, []uint32{5, 3, 9}) {
		t.Errorf("sort: client read %v", sorted)
	}

	var threads []imapclient.ThreadData
	do("thread", func() (err error) {
		threads, err = c.UIDThread(&imapclient.ThreadOptions{Algorithm: imap.ThreadReferences, SearchCriteria: &imap.SearchCriteria{}}).Wait()
		return err
	}, &Thread{Algorithm: imap.ThreadReferences, Charset: "UTF-8", Search: &imap.SearchCriteria{}})
	wantThreads := []imapclient.ThreadData{{Chain: []uint32{2}},
		{Chain: []uint32{3, 6}, SubThreads: []imapclient.ThreadData{{Chain: []uint32{4, 23}}, {Chain: []uint32{44, 7, 96}}}}}
	if !reflect.DeepEqual(threads, wantThreads) {
		t.Errorf("thread: client read %+v", threads)
	}

	var id *imap.IDData
	do("id", func() (err error) {
		id, err = c.ID(&imap.IDData{Name: "go-imap", Version: "2", OS: "linux"}).Wait()
		return err
	},
		map[string]string{"name": "go-imap", "version": "2", "os": "linux"})
	if id == nil || id.Name != "Yubin" || id.Version != "1.0" || id.Vendor != `A "B" \C` {
		t.Errorf("id: client read %+v", id)
	}

	var q *imapclient.QuotaData
	do("getquota", func() (err error) { q, err = c.GetQuota("").Wait(); return err }, "")
	if q == nil || q.Resources[imap.QuotaResourceStorage] != (imapclient.QuotaResourceData{Usage: 10, Limit: 512}) {
		t.Errorf("getquota: client read %+v", q)
	}
	var qr []imapclient.QuotaData
	do("getquotaroot", func() (err error) { qr, err = c.GetQuotaRoot("INBOX").Wait(); return err }, "INBOX")
	if len(qr) != 1 || qr[0].Root != "" || qr[0].Resources[imap.QuotaResourceStorage].Limit != 512 {
		t.Errorf("getquotaroot: client read %+v", qr)
	}
	do("setquota", func() error {
		return c.SetQuota("#user/alice", map[imap.QuotaResourceType]int64{imap.QuotaResourceStorage: 510}).Wait()
	}, []any{"#user/alice", []QuotaLimit{{"STORAGE", 510}}})

	do("setacl", func() error {
		return c.SetACL("INBOX", "bob", imap.RightModificationAdd, imap.RightSet("lrs")).Wait()
	}, &SetACL{Mailbox: "INBOX", Identifier: "bob", Modification: imap.RightModificationAdd, Rights: imap.RightSet("lrs")})
	var acl *imapclient.GetACLData
	do("getacl", func() (err error) { acl, err = c.GetACL("INBOX").Wait(); return err }, "INBOX")
	if acl == nil || !acl.Rights["bob"].Equal(imap.RightSet("lrs")) || !acl.Rights["anyone"].Equal(imap.RightSet("l")) {
		t.Errorf("getacl: client read %+v", acl)
	}
	var my *imapclient.MyRightsData
	do("myrights", func() (err error) { my, err = c.MyRights("INBOX").Wait(); return err }, "INBOX")
	if my == nil || my.Mailbox != "INBOX" || !my.Rights.Equal(imap.RightSet("lrswipkxteacd")) {
		t.Errorf("myrights: client read %+v", my)
	}

	var ns *imap.NamespaceData
	do("namespace", func() (err error) { ns, err = c.Namespace().Wait(); return err }, nil)
	if ns == nil || !reflect.DeepEqual(ns.Personal, []imap.NamespaceDescriptor{{Delim: '/'}}) || ns.Other != nil ||
		!reflect.DeepEqual(ns.Shared, []imap.NamespaceDescriptor{{Prefix: "Geteilt/", Delim: '/'}}) {
		t.Errorf("namespace: client read %+v", ns)
	}

	var msgs []*imapclient.FetchMessageBuffer
	do("uid fetch", func() (err error) { msgs, err = c.Fetch(imap.UIDSetNum(7), fetch).Collect(); return err }, fetch)
	if len(msgs) != 1 {
		t.Fatalf("fetch: client read %d messages", len(msgs))
	}
	m := msgs[0]
	if m.UID != 7 || !reflect.DeepEqual(m.Flags, []imap.Flag{imap.FlagSeen, "$Junk"}) || !m.InternalDate.Equal(internal) ||
		m.RFC822Size != 1234 || m.ModSeq != 77 {
		t.Errorf("fetch: client read %+v", m)
	}
	for i, sec := range fetch.BodySection {
		if got := string(m.FindBodySection(sec)); got != strings.Repeat("x", i+1) {
			t.Errorf("fetch: section %d: client read %q", i, got)
		}
	}
	if got := string(m.FindBinarySection(fetch.BinarySection[0])); got != "a\x00b" {
		t.Errorf("fetch: binary: client read %q", got)
	}
	if got, ok := m.FindBinarySectionSize(fetch.BinarySectionSize[0].Part); !ok || got != 3 {
		t.Errorf("fetch: binary size: client read %d", got)
	}

	do("uid expunge", func() error { return c.UIDExpunge(imap.UIDSetNum(3, 4, 5, 9)).Close() },
		imap.UIDSet{{Start: 3, Stop: 5}, {Start: 9, Stop: 9}})
}
