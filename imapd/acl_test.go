package imapd

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"yubin/storage"
)

const aclFriend = "friend@imapd.test"

// aclServer is a test server with a second user and a mailbox "Team".
func aclServer(t *testing.T) (*testServer, *rawConn) {
	t.Helper()
	ts := startTestServer(t)
	if _, err := ts.st.AddUser(t.Context(), aclFriend, "friend-pw", 0); err != nil {
		t.Fatal(err)
	}
	if err := ts.acct.CreateMailbox(t.Context(), "Team"); err != nil {
		t.Fatal(err)
	}
	return ts, ts.loginWire(t)
}

// expect runs command and checks the untagged lines and the start of
// the tagged status ("OK", "NO [CANNOT]", "BAD").
func (w *rawConn) expect(command string, untagged []string, status string) {
	w.t.Helper()
	got, st := w.cmd("T", command)
	if !strings.HasPrefix(st, status) {
		w.t.Errorf("%s: status %q, want %q", command, st, status)
	}
	if untagged != nil && !slices.Equal(got, untagged) {
		w.t.Errorf("%s: untagged\n%q\nwant\n%q", command, got, untagged)
	}
}

const ownerACL = testUser + " lrswipkxtecda"

func TestACLSetGetRoundTrip(t *testing.T) {
	t.Parallel()
	_, w := aclServer(t)
	w.expect("GETACL Team", []string{"* ACL Team " + ownerACL}, "OK")
	w.expect("SETACL Team "+aclFriend+" rl", []string{}, "OK")
	w.expect("GETACL Team", []string{"* ACL Team " + ownerACL + " " + aclFriend + " lr"}, "OK")
	w.expect("SETACL Team "+aclFriend+" +sw", []string{}, "OK")
	w.expect("GETACL Team", []string{"* ACL Team " + ownerACL + " " + aclFriend + " lrsw"}, "OK")
	w.expect("SETACL Team "+aclFriend+" -r", []string{}, "OK")
	w.expect("GETACL Team", []string{"* ACL Team " + ownerACL + " " + aclFriend + " lsw"}, "OK")
	// RFC 4314 §2.1.1: c grants k and x, d grants e and t; responses
	// show the virtual c and d beside them.
	w.expect("SETACL Team anyone lc", []string{}, "OK")
	w.expect(`SETACL "Team" "ANYONE" "+d"`, []string{}, "OK")
	w.expect("GETACL Team", []string{"* ACL Team " + ownerACL + " anyone lkxtecd " + aclFriend + " lsw"}, "OK")
	w.expect("DELETEACL Team "+aclFriend, []string{}, "OK")
	w.expect("SETACL Team anyone -lkxtecd", []string{}, "OK")
	w.expect("GETACL Team", []string{"* ACL Team " + ownerACL}, "OK")
	// Deleting an entry that is not there is no error.
	w.expect("DELETEACL Team anyone", []string{}, "OK")
}

func TestACLListRights(t *testing.T) {
	t.Parallel()
	_, w := aclServer(t)
	w.expect("LISTRIGHTS INBOX "+testUser, []string{"* LISTRIGHTS INBOX " + testUser + " lrswipkxtecda"}, "OK")
	w.expect("LISTRIGHTS Team anyone", []string{`* LISTRIGHTS Team anyone "" l r s w i p k x t e a c d`}, "OK")
	w.expect("LISTRIGHTS Team "+aclFriend, []string{`* LISTRIGHTS Team ` + aclFriend + ` "" l r s w i p k x t e a c d`}, "OK")
	w.expect("LISTRIGHTS Team nobody@imapd.test", []string{}, "NO [CANNOT]")
}

func TestACLMyRights(t *testing.T) {
	t.Parallel()
	_, w := aclServer(t)
	w.expect("MYRIGHTS INBOX", []string{"* MYRIGHTS INBOX lrswipkxtecda"}, "OK")
	w.expect("MYRIGHTS inbox", []string{"* MYRIGHTS INBOX lrswipkxtecda"}, "OK")
	w.expect("MYRIGHTS Team", []string{"* MYRIGHTS Team lrswipkxtecda"}, "OK")
	w.expect("MYRIGHTS Missing", []string{}, "NO [NONEXISTENT]")
	// Allowed in the selected state too.
	w.expect("EXAMINE INBOX", nil, "OK")
	w.expect("MYRIGHTS Team", []string{"* MYRIGHTS Team lrswipkxtecda"}, "OK")
}

func TestACLErrors(t *testing.T) {
	t.Parallel()
	ts, w := aclServer(t)
	for _, c := range []struct{ command, status string }{
		{"SETACL Team nobody@imapd.test lr", "NO [CANNOT]"},
		{"SETACL Team someone lr", "NO [CANNOT]"},
		{"SETACL Team -anyone lr", "NO [CANNOT] Negative"},
		{"SETACL Team -" + aclFriend + " lr", "NO [CANNOT] Negative"},
		{"DELETEACL Team -anyone", "NO [CANNOT] Negative"},
		{"LISTRIGHTS Team -anyone", "NO [CANNOT] Negative"},
		{"SETACL Team " + testUser + " -a", "NO [CANNOT]"},
		{"SETACL Team " + testUser + " lr", "NO [CANNOT]"},
		{"DELETEACL Team " + testUser, "NO [CANNOT]"},
		{"SETACL Missing anyone lr", "NO [NONEXISTENT]"},
		{"GETACL Missing", "NO [NONEXISTENT]"},
		{"DELETEACL Missing anyone", "NO [NONEXISTENT]"},
		{"LISTRIGHTS Missing anyone", "NO [NONEXISTENT]"},
		// RFC 4314 §3.1: an unrecognized right is BAD.
		{"SETACL Team anyone lq", "BAD"},
		{"SETACL Team anyone lR", "BAD"},
		{"SETACL Team anyone +1", "BAD"},
		{`SETACL Team "" lr`, "BAD"},
		{"SETACL Team anyone", "BAD"},
		{"GETACL", "BAD"},
		{"MYRIGHTS Team extra", "BAD"},
		{"LISTRIGHTS Team", "BAD"},
	} {
		w.expect(c.command, []string{}, c.status)
	}
	// Granting the owner what they hold is no change and no error.
	w.expect("SETACL Team "+testUser+" +a", []string{}, "OK")
	w.expect("GETACL Team", []string{"* ACL Team " + ownerACL}, "OK")
	// Before login the commands are BAD.
	w2 := ts.dialWire(t)
	w2.expect("MYRIGHTS INBOX", []string{}, "BAD")
}

// TestACLRenameDelete: RENAME carries the list to the new name, DELETE
// drops it, and a mailbox created again under a name has none.
func TestACLRenameDelete(t *testing.T) {
	t.Parallel()
	_, w := aclServer(t)
	w.expect("SETACL Team "+aclFriend+" lr", []string{}, "OK")
	w.expect("RENAME Team Crew", []string{}, "OK")
	w.expect("GETACL Crew", []string{"* ACL Crew " + ownerACL + " " + aclFriend + " lr"}, "OK")
	w.expect("GETACL Team", []string{}, "NO [NONEXISTENT]")
	w.expect("DELETE Crew", []string{}, "OK")
	w.expect("GETACL Crew", []string{}, "NO [NONEXISTENT]")
	w.expect("CREATE Crew", []string{}, "OK")
	w.expect("GETACL Crew", []string{"* ACL Crew " + ownerACL}, "OK")
}

// TestACLNoPerm: a user other than the owner (issue 19: other users'
// mailboxes) needs a for SETACL/GETACL and any of l r i k x a for
// MYRIGHTS; without any visible right the mailbox does not exist for
// them.
func TestACLNoPerm(t *testing.T) {
	t.Parallel()
	ts, _ := aclServer(t)
	friend, err := storage.ParseAddress(aclFriend)
	if err != nil {
		t.Fatal(err)
	}
	s := &session{acct: ts.acct, user: friend}
	code := func(err error) imap.ResponseCode {
		var ie *imap.Error
		if !errors.As(err, &ie) {
			t.Fatalf("error %v is no *imap.Error", err)
		}
		return ie.Code
	}
	if _, err := s.aclCheck("Team", visibleRights, true); code(err) != imap.ResponseCodeNonExistent {
		t.Errorf("no rights: %v", err)
	}
	if _, err := ts.acct.SetACL(t.Context(), "Team", aclFriend, "lr", storage.ACLReplace); err != nil {
		t.Fatal(err)
	}
	if canon, err := s.aclCheck("Team", visibleRights, true); err != nil || canon != "Team" {
		t.Errorf("MYRIGHTS check with lr = %q, %v", canon, err)
	}
	if _, err := s.aclCheck("Team", "a", false); code(err) != imap.ResponseCodeNoPerm {
		t.Errorf("SETACL check with lr: %v", err)
	}
	if _, err := ts.acct.SetACL(t.Context(), "Team", "anyone", "a", storage.ACLAdd); err != nil {
		t.Fatal(err)
	}
	if _, err := s.aclCheck("Team", "a", false); err != nil {
		t.Errorf("SETACL check with anyone a: %v", err)
	}
}
