package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"
)

// eicar is the EICAR anti-virus test string; gtube is SpamAssassin's
// GTUBE test string (score 1000).
const (
	eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`
	gtube = `XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X`
)

// startPeer starts a scanner daemon, waits until ping succeeds and stops
// it (the whole process group) at cleanup.
func startPeer(t *testing.T, name string, cmd *exec.Cmd, logPath string, ping func() error) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s log:\n%s", name, b)
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := ping()
		if err == nil {
			return
		}
		select {
		case <-done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s exited: %s", name, b)
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s not ready: %v\n%s", name, err, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startClamd starts a private clamd on a loopback TCP port with one
// custom body signature (.ndb) for EICAR, and returns its address.
func startClamd(t *testing.T) string {
	t.Helper()
	clamd := needTool(t, "clamd")
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	sig := fmt.Sprintf("Yubin.Test.EICAR:0:*:%x\n", eicar)
	if err := os.WriteFile(filepath.Join(db, "yubin.ndb"), []byte(sig), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	host, port, _ := strings.Cut(addr, ":")
	conf := fmt.Sprintf("Foreground yes\nDatabaseDirectory %s\nTCPAddr %s\nTCPSocket %s\nPidFile %s\nLogFile %s\nStreamMaxLength 25M\n",
		db, host, port, filepath.Join(dir, "clamd.pid"), filepath.Join(dir, "clamd.file.log"))
	confPath := filepath.Join(dir, "clamd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	startPeer(t, "clamd", exec.Command(clamd, "-c", confPath), filepath.Join(dir, "clamd.log"), func() error {
		reply, err := peerExchange(addr, "zPING\x00", 0)
		if err == nil && !strings.HasPrefix(reply, "PONG") {
			err = fmt.Errorf("clamd PING: %q", reply)
		}
		return err
	})
	return addr
}

// startSpamd starts a private spamd on a loopback port (its stock rules
// work offline) and returns its address.
func startSpamd(t *testing.T) string {
	t.Helper()
	spamd := needTool(t, "spamd")
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o777)
	port := freePort(t)
	args := []string{"--local", "-i", "127.0.0.1", "-p", fmt.Sprint(port), "--syslog=stderr",
		"--nouser-config", "--allow-tell", "--max-children=2", "--helper-home-dir=" + home,
		"--pidfile=" + filepath.Join(dir, "spamd.pid")}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody") // spamd will not run as root
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// spamd may leave its first process's group: stop it by its pidfile
	// too (registered first, so it runs after startPeer's cleanup).
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(dir, "spamd.pid")); err == nil {
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	})
	startPeer(t, "spamd", exec.Command(spamd, args...), filepath.Join(dir, "spamd.log"), func() error {
		reply, err := peerExchange(addr, "PING SPAMC/1.5\r\n\r\n", '\n')
		if err == nil && !strings.Contains(reply, "PONG") {
			err = fmt.Errorf("spamd PING: %q", reply)
		}
		return err
	})
	return addr
}

// peerExchange sends req and reads one reply up to delim.
func peerExchange(addr, req string, delim byte) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString(delim)
}

// mailWith builds a plain, well-formed message with body.
func mailWith(subject, body string) []byte {
	return fmt.Appendf(nil, "From: Ann <ann@sender.test>\r\nTo: bob@acme.test\r\nSubject: %s\r\n"+
		"Date: %s\r\nMessage-ID: <%d.%s@sender.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n%s\r\n",
		subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), strings.ReplaceAll(subject, " ", "-"), body)
}

// folderFiles returns the contents of the messages in a user's folder
// ("" = INBOX, ".Junk").
func (s *server) folderFiles(addr, folder string) []string {
	s.t.Helper()
	var out []string
	for _, name := range s.maildirList(addr, folder) {
		b, err := os.ReadFile(filepath.Join(s.maildir(addr), folder, name))
		if err != nil {
			s.t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// TestFiltersSpamd runs mail through a real spamd: GTUBE goes to Junk
// (or is refused above reject_score), a normal message reaches INBOX
// with the spam fields, a forged X-Spam-Status is replaced.
func TestFiltersSpamd(t *testing.T) {
	t.Parallel()
	addr := startSpamd(t)
	s := startServer(t, "", `filters.spamd.address = "`+addr+`"`, `filters.spamd.reject_score = 2000.0`, `filters.spamd.learn = true`)
	s.addUser("bob@acme.test")

	ham := mailWith("lunch", "Shall we meet for lunch on Thursday at noon?")
	ham = append([]byte("X-Spam-Status: No, forged\r\n"), ham...)
	if err := sendWithGo(s.smtpAddr(), "ann@sender.test", []string{"bob@acme.test"}, ham); err != nil {
		t.Fatalf("send ham: %v", err)
	}
	if err := sendWithGo(s.smtpAddr(), "ann@sender.test", []string{"bob@acme.test"}, mailWith("gtube", gtube)); err != nil {
		t.Fatalf("send GTUBE: %v", err)
	}
	s.waitDelivered("bob@acme.test", 2)
	inbox := s.folderFiles("bob@acme.test", "")
	junk := s.folderFiles("bob@acme.test", ".Junk")
	if len(inbox) != 1 || len(junk) != 1 {
		t.Fatalf("INBOX has %d, Junk %d messages, want 1 and 1", len(inbox), len(junk))
	}
	if !strings.Contains(inbox[0], "Subject: lunch") || !strings.Contains(inbox[0], "X-Spam-Status: No, score=") || !strings.Contains(inbox[0], "X-Spam-Score: ") {
		t.Errorf("INBOX message lacks spam fields:\n%s", inbox[0])
	}
	if strings.Contains(inbox[0], "forged") {
		t.Errorf("sender's X-Spam-Status kept:\n%s", inbox[0])
	}
	if !strings.Contains(junk[0], "Subject: gtube") || !strings.Contains(junk[0], "X-Spam-Status: Yes, score=") || !strings.Contains(junk[0], "GTUBE") {
		t.Errorf("Junk message:\n%s", junk[0])
	}
	if strings.Contains(junk[0], "X-Yubin-Junk") {
		t.Errorf("junk mark left in the message:\n%s", junk[0])
	}
	s.logs.wait(t, 5*time.Second, func(e logEntry) bool {
		return e.str("filter") == "spamd" && e.str("verdict") == "quarantine"
	})

	// Learning: moving the ham into Junk teaches spamd spam (TELL), moving
	// the GTUBE message out teaches ham; both in the background.
	c := dialIMAP(t, s, nil)
	if err := c.Login("bob@acme.test", "secret-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(1), "Junk").Wait(); err != nil {
		t.Fatalf("MOVE to Junk: %v", err)
	}
	if _, err := c.Select("Junk", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(1), "INBOX").Wait(); err != nil {
		t.Fatalf("MOVE out of Junk: %v", err)
	}
	for _, spam := range []bool{true, false} {
		s.logs.wait(t, 60*time.Second, func(e logEntry) bool {
			return e.str("msg") == "learned" && e["spam"] == spam
		})
	}
	if n := s.logs.count(func(e logEntry) bool { return e.str("msg") == "learn" }); n != 0 {
		t.Errorf("%d learning failures:\n%s", n, s.logs.dump())
	}

	// Above reject_score: refused at SMTP time, delivered nowhere.
	r := startServer(t, "", `filters.spamd.address = "`+addr+`"`, `filters.spamd.reject_score = 20.0`)
	r.addUser("bob@acme.test")
	err := sendWithGo(r.smtpAddr(), "ann@sender.test", []string{"bob@acme.test"}, mailWith("gtube", gtube))
	wantSMTPError(t, err, 550, smtp.EnhancedCode{5, 7, 1})
	if n := len(r.maildirList("bob@acme.test", "")); n != 0 {
		t.Errorf("refused spam delivered: %d messages", n)
	}
}

// TestFiltersClamd runs mail through a real clamd with a custom EICAR
// signature: a message carrying EICAR is refused with 554 on port 25 and
// on submission and is in no mailbox; a clean one is delivered.
func TestFiltersClamd(t *testing.T) {
	t.Parallel()
	addr := startClamd(t)
	s := startServer(t, "", `filters.clamd.address = "`+addr+`"`)
	s.addUser("bob@acme.test")
	s.addUser("amy@acme.test")

	virus := mailWith("invoice", "Please find the file below.\r\n\r\n"+eicar)
	err := sendWithGo(s.smtpAddr(), "ann@sender.test", []string{"bob@acme.test"}, virus)
	wantSMTPError(t, err, 554, smtp.EnhancedCode{5, 7, 1})
	if !strings.Contains(err.Error(), "Yubin.Test.EICAR") {
		t.Errorf("reply does not name the virus: %v", err)
	}
	s.logs.wait(t, 5*time.Second, func(e logEntry) bool {
		return e.str("filter") == "clamd" && e.str("verdict") == "reject" && strings.Contains(e.str("reason"), "Yubin.Test.EICAR")
	})
	sub := "From: amy@acme.test\r\nTo: bob@acme.test\r\nSubject: fwd\r\n\r\n" + eicar + "\r\n"
	err = submit(t, s.addrs["submission"], false, "amy@acme.test", "amy@acme.test", []string{"bob@acme.test"}, sub)
	wantSMTPError(t, err, 554, smtp.EnhancedCode{5, 7, 1})

	if err := sendWithGo(s.smtpAddr(), "ann@sender.test", []string{"bob@acme.test"}, mailWith("clean", "nothing to see")); err != nil {
		t.Fatalf("send clean: %v", err)
	}
	s.waitDelivered("bob@acme.test", 1)
	files := s.folderFiles("bob@acme.test", "")
	if len(files) != 1 || !strings.Contains(files[0], "Subject: clean") || !strings.Contains(files[0], "X-Virus-Scanned: clamd: clean") {
		t.Fatalf("INBOX = %q, want only the clean message, scanned", files)
	}
	for _, f := range append(files, s.folderFiles("bob@acme.test", ".Junk")...) {
		if strings.Contains(f, "EICAR") {
			t.Errorf("virus delivered:\n%s", f)
		}
	}
}

// TestFiltersScannerDown: a fail-open scanner that is down lets mail
// through tagged; a fail-closed one that hangs gets 451 4.7.1 after its
// timeout. Neither hangs the session.
func TestFiltersScannerDown(t *testing.T) {
	t.Parallel()
	// Accepts connections and never answers.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := hang.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	down := fmt.Sprintf("127.0.0.1:%d", freePort(t)) // nothing listens

	open := startServer(t, "", `filters.spamd.address = "`+down+`"`, `filters.clamd.address = "`+hang.Addr().String()+`"`,
		`filters.clamd.fail_open = true`, `filters.clamd.timeout = "1s"`)
	open.addUser("bob@acme.test")
	start := time.Now()
	if err := sendWithGo(open.smtpAddr(), "ann@sender.test", []string{"bob@acme.test"}, mailWith("open", "hello")); err != nil {
		t.Fatalf("fail-open send: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("fail-open took %s", d)
	}
	open.waitDelivered("bob@acme.test", 1)
	files := open.folderFiles("bob@acme.test", "")
	if len(files) != 1 || !strings.Contains(files[0], "X-Yubin-Filter-Skipped: clamd unavailable") || !strings.Contains(files[0], "X-Yubin-Filter-Skipped: spamd unavailable") {
		t.Fatalf("fail-open delivery not tagged: %q", files)
	}

	closed := startServer(t, "", `filters.clamd.address = "`+hang.Addr().String()+`"`, `filters.clamd.timeout = "1s"`,
		`filters.spamd.address = "`+down+`"`, `filters.spamd.fail_open = false`)
	closed.addUser("bob@acme.test")
	start = time.Now()
	err = sendWithGo(closed.smtpAddr(), "ann@sender.test", []string{"bob@acme.test"}, mailWith("closed", "hello"))
	wantSMTPError(t, err, 451, smtp.EnhancedCode{4, 7, 1})
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("fail-closed took %s", d)
	}
	if n := len(closed.maildirList("bob@acme.test", "")); n != 0 {
		t.Errorf("fail-closed delivered %d messages", n)
	}
}
