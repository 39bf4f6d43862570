package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the maild and mailctl binaries built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "yubin-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, name := range []string{"maild", "mailctl"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "yubin/cmd/"+name)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", name+":", err)
			os.Exit(1)
		}
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running maild.
type server struct {
	t       testing.TB
	dataDir string
	config  string
	cmd     *exec.Cmd
	stdout  lockedBuffer
	logs    *logSink
	addrs   map[string]string // proto -> bound address
	exited  chan error
}

// baseConfig overrides the dev defaults for tests: ports 0 so the kernel
// picks free ones, JSON logs, fast retries and login delays. Keys are
// dotted so overrides can replace them one by one.
var baseConfig = []string{
	`log.format = "json"`,
	`log.level = "debug"`,
	`smtp.listen = ["127.0.0.1:0"]`,
	`submission.listen = ["127.0.0.1:0"]`,
	`submission.listen_tls = ["127.0.0.1:0"]`,
	`imap.listen = ["127.0.0.1:0"]`,
	`imap.listen_tls = ["127.0.0.1:0"]`,
	`pop3.listen = ["127.0.0.1:0"]`,
	`pop3.listen_tls = ["127.0.0.1:0"]`,
	`http.listen = ["127.0.0.1:0"]`,
	`http.listen_tls = ["127.0.0.1:0"]`,
	`http.metrics_listen = "127.0.0.1:0"`,
	`auth.failure_delay = "50ms"`,
	`delivery.retry_min = "100ms"`,
	`delivery.retry_max = "500ms"`,
}

// startServer starts maild --dev on dataDir (a new temp dir when "") with
// baseConfig, where each override ("key = value", dotted key) replaces
// the line of the same key or is added.
func startServer(t testing.TB, dataDir string, overrides ...string) *server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	lines := append([]string(nil), baseConfig...)
	for _, o := range overrides {
		key, _, _ := strings.Cut(o, "=")
		replaced := false
		for i, l := range lines {
			if k, _, _ := strings.Cut(l, "="); strings.TrimSpace(k) == strings.TrimSpace(key) {
				lines[i], replaced = o, true
			}
		}
		if !replaced {
			lines = append(lines, o)
		}
	}
	cfgPath := filepath.Join(dataDir, "test-maild.toml")
	if err := os.WriteFile(cfgPath, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, dataDir: dataDir, config: cfgPath}
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("maild log:\n%s", s.logs.dump())
		}
	})
	return s
}

func (s *server) start() {
	t := s.t
	t.Helper()
	s.logs = newLogSink()
	s.addrs = map[string]string{}
	s.stdout.Reset()
	s.cmd = exec.Command(filepath.Join(binDir, "maild"), "--dev", "--data", s.dataDir, "--config", s.config)
	s.cmd.Stdout = &s.stdout
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.exited = make(chan error, 1)
	go func() {
		s.logs.consume(stderr)
		s.exited <- s.cmd.Wait()
	}()
	ready := s.logs.wait(t, 60*time.Second, func(e logEntry) bool { return e.str("msg") == "ready" || e.str("msg") == "start failed" })
	if ready.str("msg") != "ready" {
		t.Fatalf("maild failed to start: %v\n%s", ready, s.logs.dump())
	}
	for _, e := range s.logs.all() {
		if e.str("msg") == "listening" {
			s.addrs[e.str("proto")] = e.str("addr")
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		if err != nil {
			s.t.Errorf("maild exit: %v", err)
		}
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		s.t.Errorf("maild did not stop within 60s of SIGTERM")
	}
	s.cmd = nil
}

// kill stops maild with SIGKILL, as a crash would.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

func (s *server) smtpAddr() string { return s.addrs["smtp"] }

// mailctl runs the real mailctl binary on this server's data dir.
func (s *server) mailctl(stdin string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(filepath.Join(binDir, "mailctl"), append([]string{"--data", s.dataDir}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// mustMailctl runs mailctl and fails the test on error.
func (s *server) mustMailctl(stdin string, args ...string) string {
	s.t.Helper()
	out, errOut, err := s.mailctl(stdin, args...)
	if err != nil {
		s.t.Fatalf("mailctl %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// addUser creates a domain (if needed) and a user with password "secret-pw".
func (s *server) addUser(addr string) {
	s.t.Helper()
	domain := addr[strings.LastIndex(addr, "@")+1:]
	if _, _, err := s.mailctl("", "domain", "add", domain); err != nil {
		// Already there is fine; anything else shows up in user add.
		_ = err
	}
	s.mustMailctl("secret-pw\n", "user", "add", addr, "--password-stdin")
}

// maildir returns the path of a user's INBOX Maildir.
func (s *server) maildir(addr string) string {
	i := strings.LastIndex(addr, "@")
	return filepath.Join(s.dataDir, "mail", addr[i+1:], addr[:i])
}

// newFiles returns the contents of the files in a user's INBOX new/.
func (s *server) newFiles(addr string) []string {
	s.t.Helper()
	dir := filepath.Join(s.maildir(addr), "new")
	ents, err := os.ReadDir(dir)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			s.t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// waitDelivered waits until n "delivered" events for user were logged.
func (s *server) waitDelivered(user string, n int) {
	s.t.Helper()
	s.logs.waitCount(s.t, 60*time.Second, n, func(e logEntry) bool {
		return e.str("msg") == "delivered" && e.str("user") == user
	})
}

// logEntry is one JSON log line of maild.
type logEntry map[string]any

func (e logEntry) str(k string) string {
	v, _ := e[k].(string)
	return v
}

func (e logEntry) String() string {
	b, _ := json.Marshal(map[string]any(e))
	return string(b)
}

// logSink collects maild's JSON log lines and lets tests wait for events
// (synchronisation on what the server reports, never on sleeps).
type logSink struct {
	mu      sync.Mutex
	cond    *sync.Cond
	entries []logEntry
	raw     bytes.Buffer
	closed  bool
}

func newLogSink() *logSink {
	l := &logSink{}
	l.cond = sync.NewCond(&l.mu)
	return l
}

func (l *logSink) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e logEntry
		json.Unmarshal(line, &e)
		l.mu.Lock()
		l.raw.Write(line)
		l.raw.WriteByte('\n')
		if e != nil {
			l.entries = append(l.entries, e)
		}
		l.cond.Broadcast()
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
}

func (l *logSink) all() []logEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]logEntry(nil), l.entries...)
}

func (l *logSink) dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.raw.String()
}

func (l *logSink) count(match func(logEntry) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.entries {
		if match(e) {
			n++
		}
	}
	return n
}

// wait returns the first entry matching, waiting up to timeout.
func (l *logSink) wait(t testing.TB, timeout time.Duration, match func(logEntry) bool) logEntry {
	t.Helper()
	var found logEntry
	l.waitCount(t, timeout, 1, func(e logEntry) bool {
		if match(e) && found == nil {
			found = e
		}
		return match(e)
	})
	return found
}

// waitCount waits until n entries match.
func (l *logSink) waitCount(t testing.TB, timeout time.Duration, n int, match func(logEntry) bool) {
	t.Helper()
	timer := time.AfterFunc(timeout, func() {
		l.mu.Lock()
		l.closed = true // wake the waiter; it reports the timeout
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		got := 0
		for _, e := range l.entries {
			if match(e) {
				got++
			}
		}
		if got >= n {
			return
		}
		if l.closed || time.Now().After(deadline) {
			// Fatalf runs the deferred Unlock.
			t.Fatalf("waited for %d matching log entries, saw %d (maild exited or %s passed)", n, got, timeout)
		}
		l.cond.Wait()
	}
}

// waitFor re-checks cond each time maild logs a line, until it holds or
// timeout passes. cond runs without the sink's lock.
func (l *logSink) waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer timer.Stop()
	for {
		l.mu.Lock()
		seen := len(l.entries)
		l.mu.Unlock()
		if cond() {
			return
		}
		l.mu.Lock()
		for len(l.entries) == seen && !l.closed && time.Now().Before(deadline) {
			l.cond.Wait()
		}
		done := l.closed || !time.Now().Before(deadline)
		l.mu.Unlock()
		if done && !cond() {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		if done {
			return
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for the exec copier and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// maildirList lists the message files (new/ and cur/) of a user's folder
// ("" for INBOX, ".Sent" for Sent).
func (s *server) maildirList(addr, folder string) []string {
	s.t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(s.maildir(addr), folder, sub))
		if err != nil {
			s.t.Fatal(err)
		}
		for _, e := range ents {
			out = append(out, sub+"/"+e.Name())
		}
	}
	return out
}
