package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func dialIMAP(t *testing.T, s *server, handler *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{
		TLSConfig:             &tls.Config{InsecureSkipVerify: true},
		UnilateralDataHandler: handler,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestIMAPGoClient runs the phone-like flows with go-imap/v2's client:
// STARTTLS login, folders, APPEND with flags and date, FETCH of every item,
// SEARCH with OR/NOT, COPY, MOVE, UID EXPUNGE, and IDLE updates.
func TestIMAPGoClient(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("vic@acme.test")

	st, err := imapclient.DialStartTLS(s.addrs["imap"], &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Login("vic@acme.test", "secret-pw").Wait(); err != nil {
		t.Fatalf("login over STARTTLS: %v", err)
	}
	st.Close()

	c := dialIMAP(t, s, nil)
	if err := c.Login("vic@acme.test", "wrong").Wait(); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := c.Login("vic@acme.test", "secret-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Projects", "Projects/2026"} {
		if err := c.Create(name, nil).Wait(); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	if err := c.Rename("Projects", "Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	boxes, err := c.List("", "Work*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil || len(boxes) != 2 || boxes[0].Mailbox != "Work" || boxes[1].Mailbox != "Work/2026" || boxes[0].Status == nil {
		t.Fatalf("LIST after rename = %+v, %v", boxes, err)
	}
	date := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	var bodies []string
	for i := range 5 {
		body := fmt.Sprintf("From: a%d@remote.test\r\nTo: vic@acme.test\r\nSubject: note %d\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\npart one %d\r\n--b\r\nContent-Type: text/plain\r\n\r\nsecret word %d\r\n--b--\r\n", i, i, i, i)
		bodies = append(bodies, body)
		flags := []imap.Flag{}
		if i%2 == 0 {
			flags = append(flags, imap.FlagSeen, "$Work")
		}
		w := c.Append("Work", int64(len(body)), &imap.AppendOptions{Flags: flags, Time: date})
		io.WriteString(w, body)
		w.Close()
		data, err := w.Wait()
		if err != nil || data.UID != imap.UID(i+1) {
			t.Fatalf("append %d: %+v, %v", i, data, err)
		}
	}
	sel, err := c.Select("Work", nil).Wait()
	if err != nil || sel.NumMessages != 5 {
		t.Fatalf("select: %+v %v", sel, err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(2), &imap.FetchOptions{
		Flags: true, InternalDate: true, RFC822Size: true, Envelope: true, UID: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection: []*imap.FetchItemBodySection{
			{Peek: true},
			{Part: []int{2}, Peek: true},
			{Specifier: imap.PartSpecifierHeader, Peek: true},
			{Peek: true, Partial: &imap.SectionPartial{Offset: 6, Size: 14}},
		},
		BinarySection: []*imap.FetchItemBinarySection{{Part: []int{1}, Peek: true}},
	}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v", err)
	}
	m := msgs[0]
	if m.UID != 2 || !m.InternalDate.Equal(date) || m.RFC822Size != int64(len(bodies[1])) || m.Envelope.Subject != "note 1" {
		t.Errorf("fetch metadata = uid %d date %v size %d env %+v", m.UID, m.InternalDate, m.RFC822Size, m.Envelope)
	}
	if mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart); !ok || len(mp.Children) != 2 || mp.Subtype != "mixed" {
		t.Errorf("body structure = %#v", m.BodyStructure)
	}
	secs := m.BodySection
	if len(secs) != 4 || string(secs[0].Bytes) != bodies[1] || !strings.Contains(string(secs[1].Bytes), "secret word 1") ||
		!strings.HasSuffix(string(secs[2].Bytes), "\r\n\r\n") || string(secs[3].Bytes) != "a1@remote.test" {
		t.Errorf("body sections = %+v", secs)
	}
	if len(m.BinarySection) != 1 || !strings.Contains(string(m.BinarySection[0].Bytes), "part one 1") {
		t.Errorf("binary section = %+v", m.BinarySection)
	}
	// SEARCH with flags, OR, NOT, body text and keywords.
	for _, tc := range []struct {
		c    imap.SearchCriteria
		want []uint32
	}{
		{imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, []uint32{2, 4}},
		{imap.SearchCriteria{Flag: []imap.Flag{"$Work"}}, []uint32{1, 3, 5}},
		{imap.SearchCriteria{Body: []string{"SECRET WORD 3"}}, []uint32{4}},
		{imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "note 0"}}}, {Text: []string{"a4@remote"}}}}}, []uint32{1, 5}},
		{imap.SearchCriteria{Not: []imap.SearchCriteria{{UID: []imap.UIDSet{imap.UIDSetNum(1, 2)}}}, Larger: 10}, []uint32{3, 4, 5}},
		{imap.SearchCriteria{Since: date.Add(24 * time.Hour)}, nil},
	} {
		data, err := c.UIDSearch(&tc.c, nil).Wait()
		if err != nil {
			t.Fatalf("search %+v: %v", tc.c, err)
		}
		var got []uint32
		for _, u := range data.AllUIDs() {
			got = append(got, uint32(u))
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("UID SEARCH %+v = %v, want %v", tc.c, got, tc.want)
		}
	}
	if _, err := c.Copy(imap.UIDSetNum(1), "Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	moved, err := c.Move(imap.UIDSetNum(2, 3), "Trash").Wait()
	if err != nil || moved.DestUIDs.String() != "1:2" {
		t.Fatalf("move: %+v %v", moved, err)
	}
	if err := c.Store(imap.UIDSetNum(4, 5), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UIDExpunge(imap.UIDSetNum(4)).Collect(); err != nil {
		t.Fatal(err)
	}
	for box, want := range map[string]uint32{"Work": 2, "Archive": 1, "Trash": 2} {
		sd, err := c.Status(box, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil || *sd.NumMessages != want {
			t.Errorf("%s has %v messages (%v), want %d", box, sd, err, want)
		}
	}

	// IDLE: another client's delivery and flag change arrive unasked.
	var mu sync.Mutex
	var events []string
	got := make(chan struct{}, 10)
	watcher := dialIMAP(t, s, &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				mu.Lock()
				events = append(events, fmt.Sprintf("exists %d", *d.NumMessages))
				mu.Unlock()
				got <- struct{}{}
			}
		},
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, _ := msg.Collect()
			mu.Lock()
			events = append(events, fmt.Sprintf("fetch %d %v", buf.SeqNum, buf.Flags))
			mu.Unlock()
			got <- struct{}{}
		},
	})
	if err := watcher.Login("vic@acme.test", "secret-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := watcher.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := watcher.Idle()
	if err != nil {
		t.Fatal(err)
	}
	if err := sendWithGo(s.smtpAddr(), "z@remote.test", []string{"vic@acme.test"}, []byte("Subject: push\r\n\r\npush\r\n")); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, got)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagAnswered}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, got)
	idle.Close()
	idle.Wait()
	mu.Lock()
	defer mu.Unlock()
	// The watcher selected first: the new message is \Recent to it (RFC
	// 3501 §2.3.2).
	if len(events) != 2 || events[0] != "exists 1" || events[1] != `fetch 1 [\Answered \Recent]` {
		t.Errorf("IDLE events = %q", events)
	}
}

func waitEvent(t *testing.T, ch chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no IDLE update within 10s")
	}
}

// TestIMAPCurl fetches a message over imaps:// with curl.
func TestIMAPCurl(t *testing.T) {
	t.Parallel()
	curl := needTool(t, "curl")
	s := startServer(t, "")
	s.addUser("wendy@acme.test")
	body := "Subject: for curl\r\n\r\nfetched by curl\r\n"
	if err := sendWithGo(s.smtpAddr(), "c@remote.test", []string{"wendy@acme.test"}, []byte(body)); err != nil {
		t.Fatal(err)
	}
	s.waitDelivered("wendy@acme.test", 1)
	out, err := exec.Command(curl, "-sS", "-k", "--user", "wendy@acme.test:secret-pw", "imaps://"+s.addrs["imaps"]+"/INBOX;UID=1").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	// A FETCH BODY[] marks the message \Seen: the file moves to cur/
	// with the S flag, the same bytes as curl received.
	files := s.maildirList("wendy@acme.test", "")
	if len(files) != 1 || !strings.HasPrefix(files[0], "cur/") || !strings.HasSuffix(files[0], ":2,S") {
		t.Fatalf("Maildir after curl = %v", files)
	}
	onDisk, _ := os.ReadFile(filepath.Join(s.maildir("wendy@acme.test"), files[0]))
	if string(out) != string(onDisk) || !strings.HasSuffix(string(out), body) {
		t.Errorf("curl got %q, file has %q", out, onDisk)
	}
}
