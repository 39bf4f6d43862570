package e2e

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestBackupUnderLoad takes a backup while a load generator delivers mail
// over SMTP, restores it into a new data directory and checks that every
// message acknowledged before the backup started is there, that the
// index matches the Maildir, and that maild serves the restored mail.
func TestBackupUnderLoad(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	users := []string{"ann@acme.test", "bob@acme.test"}
	for _, u := range users {
		s.addUser(u)
	}

	var (
		mu    sync.Mutex
		acked []string // tags of messages that got their 250
		n     atomic.Int64
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := n.Add(1)
				tag := fmt.Sprintf("load-%d-%d", w, i)
				rcpt := users[i%2]
				msg := fmt.Sprintf("From: load@remote.test\r\nTo: %s\r\nSubject: %s\r\n\r\n%s\r\n", rcpt, tag, strings.Repeat("payload ", 200))
				if err := sendWithGo(s.smtpAddr(), "load@remote.test", []string{rcpt}, []byte(msg)); err != nil {
					t.Errorf("send %s: %v", tag, err)
					return
				}
				mu.Lock()
				acked = append(acked, rcpt+" "+tag)
				mu.Unlock()
			}
		}()
	}
	// Let some mail in, then back up while the load goes on.
	s.logs.waitCount(t, 60*time.Second, 40, func(e logEntry) bool { return e.str("msg") == "delivered" })
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	bdir := filepath.Join(t.TempDir(), "backup")
	start := time.Now()
	out := s.mustMailctl("", "backup", bdir)
	took := time.Since(start)
	close(stop)
	wg.Wait()
	t.Logf("%s(backup took %s with %d messages acknowledged when it started)", out, took, len(before))

	// An incremental backup after the load: it keeps what it has.
	out = s.mustMailctl("", "backup", bdir)
	if !strings.Contains(out, "kept from the last backup") {
		t.Errorf("second backup: %s", out)
	}
	t.Logf("incremental: %s", out)

	newDir := filepath.Join(t.TempDir(), "restored")
	r := &server{t: t, dataDir: newDir}
	if o, e, err := r.mailctl("", "restore", bdir); err != nil {
		t.Fatalf("restore: %v\n%s%s", err, o, e)
	}
	if o, e, err := r.mailctl("", "verify"); err != nil {
		t.Fatalf("verify after restore: %v\n%s%s", err, o, e)
	}
	r = startServer(t, newDir)

	// Every message acknowledged before the backup started is served
	// (those still queued at backup time are delivered after restart).
	want := map[string]map[string]bool{}
	for _, a := range before {
		u, tag, _ := strings.Cut(a, " ")
		if want[u] == nil {
			want[u] = map[string]bool{}
		}
		want[u][tag] = true
	}
	for _, u := range users {
		deadline := time.Now().Add(30 * time.Second)
		for {
			missing := missingSubjects(t, r.addrs["imaps"], u, want[u])
			if len(missing) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d messages acknowledged before the backup are missing after restore: %v", u, len(missing), missing)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// missingSubjects returns the subjects in want that user's INBOX lacks.
func missingSubjects(t *testing.T, addr, user string, want map[string]bool) []string {
	t.Helper()
	c, err := imapclient.DialTLS(addr, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, "secret-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	if sel.NumMessages > 0 {
		msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: sel.NumMessages}}, &imap.FetchOptions{Envelope: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			have[m.Envelope.Subject] = true
		}
	}
	var missing []string
	for tag := range want {
		if !have[tag] {
			missing = append(missing, tag)
		}
	}
	return missing
}
