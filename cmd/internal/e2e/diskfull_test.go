package e2e

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// mountSmallFS mounts a tmpfs of size on a new directory and unmounts it
// at cleanup (after the servers started later have stopped). It skips the
// test when mounting is not permitted.
func mountSmallFS(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		skipOrFail(t, "disk-full test needs a small filesystem and cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
			exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

// fillDisk appends to path until the filesystem is full and returns the
// file size. tmpfs allocates pages, so a full disk means ENOSPC.
func fillDisk(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = 'x'
	}
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			break
		}
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func freeBytes(t *testing.T, dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

var diskFullIDRe = regexp.MustCompile(`Message-ID: <full\.(\d+)@diskfull>`)

func diskFullMessage(id int) string {
	return fmt.Sprintf("From: sender@remote.test\r\nSubject: full %d\r\nMessage-ID: <full.%d@diskfull>\r\n\r\n%s\r\nend of full.%d\r\n",
		id, id, strings.Repeat("disk full test line, 64 bytes of body text for the spool.....\r\n", 512), id)
}

// smtpSendOne sends one message on a new session and returns the reply
// error (nil for a 250).
func smtpSendOne(addr, rcpt, msg string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout, c.SubmissionTimeout = 20*time.Second, 20*time.Second
	defer c.Close()
	if err := c.Hello("diskfull.remote.test"); err != nil {
		return err
	}
	if err := c.SendMail("sender@remote.test", []string{rcpt}, strings.NewReader(msg)); err != nil {
		return err
	}
	c.Quit()
	return nil
}

// storedIDs returns the test message numbers found in addr's INBOX.
func (s *server) storedIDs(addr string) map[string]int {
	s.t.Helper()
	out := map[string]int{}
	for _, name := range s.maildirList(addr, "") {
		b, err := os.ReadFile(filepath.Join(s.maildir(addr), name))
		if err != nil {
			s.t.Fatal(err)
		}
		if m := diskFullIDRe.FindSubmatch(b); m != nil {
			out[string(m[1])]++
		}
	}
	return out
}

// TestDiskFull (issue 10, item 4) runs maild on an 8 MiB tmpfs and fills
// it: SMTP must answer 4xx (451/452) rather than acknowledge what it cannot
// store, IMAP APPEND must answer NO, every message that did get a 250 must
// be delivered, and once the space is freed service resumes by itself.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	needRoot(t, "the disk-full test mounts a tmpfs")
	dir := mountSmallFS(t, "8m")
	start := time.Now()
	s := startServer(t, dir)
	const user = "fay@acme.test"
	s.addUser(user)
	// The account is in use before the disk fills, as a real one is: its
	// index is created at its first login or delivery, which a full disk
	// would refuse (opening an existing one writes nothing).
	pre, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pre.Login(user, "secret-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	pre.Logout().Wait()
	pre.Close()
	filler := filepath.Join(dir, "filler")

	// Fill, then leave about 256 KiB: a few 32 KiB messages fit, then
	// the disk is full in the middle of the traffic.
	size := fillDisk(t, filler)
	if err := os.Truncate(filler, size-256<<10); err != nil {
		t.Fatal(err)
	}
	t.Logf("filled the 8 MiB tmpfs with %d KiB, left %d KiB free", (size-256<<10)>>10, freeBytes(t, dir)>>10)

	acked := map[string]bool{}
	var refused []string
	id := 0
	for ; id < 60; id++ {
		err := smtpSendOne(s.smtpAddr(), user, diskFullMessage(id))
		if err == nil {
			acked[fmt.Sprint(id)] = true
			continue
		}
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			t.Fatalf("message %d: not an SMTP reply (did maild die?): %v", id, err)
		}
		if se.Code != 451 && se.Code != 452 {
			t.Errorf("message %d refused with %d %v, want 451 or 452", id, se.Code, se.EnhancedCode)
		}
		refused = append(refused, fmt.Sprintf("%d: %d %v %s", id, se.Code, se.EnhancedCode, se.Message))
		if len(refused) >= 3 {
			break
		}
	}
	t.Logf("while filling: %d messages acknowledged, then refused: %v (free now %d KiB)", len(acked), refused, freeBytes(t, dir)>>10)
	if len(refused) == 0 {
		t.Fatalf("60 messages of 32 KiB accepted on a full 8 MiB disk")
	}

	// Completely full now: SMTP still refuses with 4xx, IMAP APPEND says NO.
	fillDisk(t, filler)
	t.Logf("disk full: %d bytes free", freeBytes(t, dir))
	id++
	if err := smtpSendOne(s.smtpAddr(), user, diskFullMessage(id)); err == nil {
		acked[fmt.Sprint(id)] = true
		t.Errorf("message %d got a 250 on a disk with no free byte", id)
	} else {
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code/100 != 4 {
			t.Errorf("message %d on a full disk: %v, want 451/452", id, err)
		} else {
			t.Logf("SMTP on a full disk: %d %v %s", se.Code, se.EnhancedCode, se.Message)
		}
	}
	c, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, "secret-pw").Wait(); err != nil {
		t.Fatalf("IMAP LOGIN on a full disk: %v", err)
	}
	appendMsg := func(i int) error {
		body := diskFullMessage(1000 + i)
		w := c.Append("INBOX", int64(len(body)), nil)
		io.WriteString(w, body)
		w.Close()
		_, err := w.Wait()
		return err
	}
	if err := appendMsg(0); err == nil {
		t.Errorf("IMAP APPEND succeeded on a full disk")
	} else {
		var ie *imap.Error
		if !errors.As(err, &ie) || ie.Type != imap.StatusResponseTypeNo {
			t.Errorf("IMAP APPEND on a full disk: %v, want a NO", err)
		} else {
			t.Logf("IMAP APPEND on a full disk: NO [%s] %s", ie.Code, ie.Text)
		}
	}

	// Free the space; nothing else is done: maild must resume by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freedAt := time.Now()
	t.Logf("filler removed: %d KiB free", freeBytes(t, dir)>>10)
	id++
	if err := smtpSendOne(s.smtpAddr(), user, diskFullMessage(id)); err != nil {
		t.Errorf("first message after freeing the disk: %v (want a 250 without any intervention)", err)
	} else {
		acked[fmt.Sprint(id)] = true
	}
	if err := appendMsg(1); err != nil {
		t.Errorf("IMAP APPEND after freeing the disk: %v", err)
	}
	var missing []string
	s.logs.waitFor(t, 30*time.Second, "every acknowledged message in the Maildir after the disk was freed", func() bool {
		have := s.storedIDs(user)
		missing = missing[:0]
		for k := range acked {
			if have[k] == 0 {
				missing = append(missing, k)
			}
		}
		return len(missing) == 0
	})
	t.Logf("all %d acknowledged messages delivered %v after the space returned", len(acked), time.Since(freedAt).Round(time.Millisecond))
	s.waitQueueEmpty(30 * time.Second)
	t.Logf("queue empty %v after the space returned", time.Since(freedAt).Round(time.Millisecond))
	// Settled messages leave the spool, also one whose removal failed
	// while the disk was full (the queue retries it). Emptied files kept
	// for reuse ("free.*" in tmp/) hold nothing.
	spoolFiles := func() int {
		n := 0
		for _, sub := range []string{"spool", "tmp"} {
			ents, _ := os.ReadDir(filepath.Join(dir, "queue", sub))
			for _, e := range ents {
				if fi, err := e.Info(); err == nil && strings.HasPrefix(e.Name(), "free.") && fi.Size() == 0 {
					continue
				}
				n++
			}
		}
		return n
	}
	s.logs.waitFor(t, 30*time.Second, "an empty spool", func() bool { return spoolFiles() == 0 })
	have := s.storedIDs(user)
	for k, n := range have {
		if !acked[k] && k != "1000" && k != "1001" {
			t.Logf("message %s is stored although it was not acknowledged (%d copies)", k, n)
		}
		if n > 1 && k != "1000" {
			t.Logf("message %s is stored %d times", k, n)
		}
	}
	if have["1000"] != 0 {
		t.Errorf("the APPEND refused on the full disk is stored anyway")
	}
	// No half-written file is visible.
	for _, name := range s.maildirList(user, "") {
		b, err := os.ReadFile(filepath.Join(s.maildir(user), name))
		if err != nil {
			t.Fatal(err)
		}
		if m := diskFullIDRe.FindSubmatch(b); m == nil || !strings.HasSuffix(string(b), "end of full."+string(m[1])+"\r\n") {
			t.Errorf("%s is not a whole message (%d bytes)", name, len(b))
		}
	}
	var errs []string
	for _, e := range s.logs.all() {
		if lv := e.str("level"); lv == "ERROR" || lv == "WARN" {
			errs = append(errs, e.String())
		}
	}
	if strings.Contains(s.logs.dump(), "panic") {
		t.Errorf("maild log mentions a panic:\n%s", s.logs.dump())
	}
	if len(errs) > 12 {
		errs = append(errs[:12], fmt.Sprintf("... and %d more", len(errs)-12))
	}
	t.Logf("maild warnings and errors while full:\n%s", strings.Join(errs, "\n"))
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}
