package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// queueEntry is what `mailctl queue list --json` prints per message.
type queueEntry struct {
	ID         string `json:"id"`
	From       string `json:"from"`
	Size       int64  `json:"size"`
	Recipients []struct {
		Address   string `json:"address"`
		State     string `json:"state"`
		Attempts  int    `json:"attempts"`
		LastError string `json:"last_error"`
	} `json:"recipients"`
}

func (s *server) queueList() []queueEntry {
	s.t.Helper()
	out := s.mustMailctl("", "queue", "list", "--json")
	var list []queueEntry
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		s.t.Fatalf("queue list --json: %v\n%s", err, out)
	}
	return list
}

// waitQueued waits until the queue holds a message for rcpt that has
// been tried at least once, and returns it.
func (s *server) waitQueued(rcpt string) queueEntry {
	s.t.Helper()
	var found queueEntry
	s.logs.waitFor(s.t, 30*time.Second, "a deferred message for "+rcpt+" in queue list", func() bool {
		for _, e := range s.queueList() {
			for _, r := range e.Recipients {
				if r.Address == rcpt && r.Attempts > 0 {
					found = e
					return true
				}
			}
		}
		return false
	})
	return found
}

// TestQueueControl drives `mailctl queue` against a running maild: a
// message deferred by a full mailbox is listed with its last error, shown,
// retried (and delivered once the quota allows), deleted, and bounced.
func TestQueueControl(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("kim@acme.test")
	s.addUser("leo@acme.test")
	// The control socket is root's and the daemon's; the submit socket
	// also its group's.
	for sock, mode := range map[string]os.FileMode{"control.sock": 0o600, "submit.sock": 0o660} {
		fi, err := os.Stat(filepath.Join(s.dataDir, sock))
		if err != nil || fi.Mode().Perm() != mode || fi.Mode().Type() != os.ModeSocket {
			t.Fatalf("%s: %v %v, want a socket with mode %v", sock, fi, err, mode)
		}
	}
	if out := s.mustMailctl("", "queue", "list"); !strings.Contains(out, "the queue is empty") {
		t.Errorf("queue list on an empty queue: %q", out)
	}

	// leo's mailbox is "full": the message stays queued with the MDA's error.
	s.mustMailctl("", "user", "quota", "leo@acme.test", "1")
	if err := sendWithGo(s.smtpAddr(), "kim@acme.test", []string{"leo@acme.test"}, []byte("Subject: one\r\n\r\nfirst\r\n")); err != nil {
		t.Fatal(err)
	}
	e := s.waitQueued("leo@acme.test")
	r := e.Recipients[0]
	if e.From != "kim@acme.test" || e.Size == 0 || !strings.Contains(r.LastError, "4.2.2") || r.State != "pending" {
		t.Errorf("queued entry %+v", e)
	}
	out := s.mustMailctl("", "queue", "list")
	for _, want := range []string{e.ID, "kim@acme.test", "leo@acme.test", "4.2.2", "1 message, 1 recipient queued"} {
		if !strings.Contains(out, want) {
			t.Errorf("queue list lacks %q:\n%s", want, out)
		}
	}
	out = s.mustMailctl("", "queue", "show", strings.ToLower(e.ID))
	if !strings.Contains(out, "id:        "+e.ID) || !strings.Contains(out, "leo@acme.test") || !strings.Contains(out, "pending") {
		t.Errorf("queue show:\n%s", out)
	}
	var shown queueEntry
	if err := json.Unmarshal([]byte(s.mustMailctl("", "queue", "show", e.ID, "--json")), &shown); err != nil || shown.ID != e.ID {
		t.Errorf("queue show --json: %+v %v", shown, err)
	}
	// route goes through the daemon's resolver.
	if out := s.mustMailctl("", "route", "LEO@acme.test"); !strings.Contains(out, "leo@acme.test  local mailbox") {
		t.Errorf("route: %q", out)
	}
	if out := s.mustMailctl("", "route", "x@remote.test"); !strings.Contains(out, "not a local domain: remote delivery") {
		t.Errorf("route remote: %q", out)
	}
	if _, errOut, err := s.mailctl("", "route", "ghost@acme.test"); err == nil || !strings.Contains(errOut, "no such user") {
		t.Errorf("route unknown: %v %q", err, errOut)
	}

	// Room again, and a retry now delivers it.
	s.mustMailctl("", "user", "quota", "leo@acme.test", "0")
	if out := s.mustMailctl("", "queue", "retry", e.ID); !strings.Contains(out, "retrying "+e.ID) {
		t.Errorf("queue retry: %q", out)
	}
	s.waitDelivered("leo@acme.test", 1)
	s.logs.waitFor(t, 30*time.Second, "an empty queue", func() bool { return len(s.queueList()) == 0 })

	// Delete: the message leaves the queue undelivered. The quota is just
	// above leo's usage: RCPT passes (the mailbox is not yet full) and the
	// delivery does not fit.
	s.mustMailctl("", "user", "quota", "leo@acme.test", strconv.FormatInt(s.maildirBytes("leo@acme.test")+1, 10))
	if err := sendWithGo(s.smtpAddr(), "kim@acme.test", []string{"leo@acme.test"}, []byte("Subject: two\r\n\r\nsecond\r\n")); err != nil {
		t.Fatal(err)
	}
	e = s.waitQueued("leo@acme.test")
	if out := s.mustMailctl("", "queue", "delete", e.ID); !strings.Contains(out, "deleted "+e.ID) {
		t.Errorf("queue delete: %q", out)
	}
	if list := s.queueList(); len(list) != 0 {
		t.Errorf("queue after delete: %+v", list)
	}
	_, errOut, err := s.mailctl("", "queue", "show", e.ID)
	if err == nil || !strings.Contains(errOut, "not queued") {
		t.Errorf("show deleted: %v %q", err, errOut)
	}
	for _, args := range [][]string{{"queue", "show", "../etc"}, {"queue", "delete", "not-an-id"}, {"queue", "retry"}} {
		if _, _, err := s.mailctl("", args...); err == nil {
			t.Errorf("%v succeeded", args)
		}
	}

	// Bounce: the sender (a local user here) gets the failure notice.
	if err := sendWithGo(s.smtpAddr(), "kim@acme.test", []string{"leo@acme.test"}, []byte("Subject: three\r\n\r\nthird\r\n")); err != nil {
		t.Fatal(err)
	}
	e = s.waitQueued("leo@acme.test")
	if out := s.mustMailctl("", "queue", "bounce", e.ID); !strings.Contains(out, "bounced "+e.ID) {
		t.Errorf("queue bounce: %q", out)
	}
	s.waitDelivered("kim@acme.test", 1)
	if files := s.newFiles("kim@acme.test"); len(files) != 1 || !strings.Contains(files[0], "leo@acme.test") {
		t.Errorf("kim's INBOX after the bounce: %q", files)
	}
	s.mustMailctl("", "queue", "retry", "--all")

	// With maild stopped, the live commands say so.
	s.stop()
	_, errOut, err = s.mailctl("", "queue", "list")
	var ee *exec.ExitError
	if !asExit(err, &ee) || !strings.Contains(errOut, "maild is not running (no control socket at") {
		t.Errorf("queue list with maild stopped: %v %q", err, errOut)
	}
}
