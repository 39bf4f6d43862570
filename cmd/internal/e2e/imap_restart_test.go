package e2e

import (
	"crypto/tls"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestIMAPUIDsSurviveRestart checks UIDVALIDITY, UIDs and flags are the
// same after maild restarts (they live in the Maildir and its index).
func TestIMAPUIDsSurviveRestart(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("ann@acme.test")
	for i := range 3 {
		if err := sendWithGo(s.smtpAddr(), "x@remote.test", []string{"ann@acme.test"}, []byte("Subject: r\r\n\r\nr\r\n")); err != nil {
			t.Fatal(err)
		}
		s.waitDelivered("ann@acme.test", i+1)
	}
	type state struct {
		validity uint32
		uids     []imap.UID
		flags    [][]imap.Flag
	}
	look := func(expunge bool) state {
		c, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login("ann@acme.test", "secret-pw").Wait(); err != nil {
			t.Fatal(err)
		}
		sel, err := c.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if expunge {
			c.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
			c.Store(imap.UIDSetNum(3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close()
			if _, err := c.Expunge().Collect(); err != nil {
				t.Fatal(err)
			}
		}
		// 1:*: after the expunge there are two messages, and a sequence
		// number above the count is BAD (RFC 9051 §9 seq-number).
		msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		st := state{validity: sel.UIDValidity}
		for _, m := range msgs {
			st.uids = append(st.uids, m.UID)
			st.flags = append(st.flags, m.Flags)
		}
		return st
	}
	before := look(true)
	s.stop()
	s.start()
	after := look(false)
	if before.validity != after.validity || len(after.uids) != 2 || after.uids[0] != 2 || after.uids[1] != 3 ||
		len(after.flags[1]) != 1 || after.flags[1][0] != imap.FlagFlagged {
		t.Errorf("before restart %+v, after %+v", before, after)
	}
}
