package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maild is one running maild --dev with a generated config, as the e2e
// harness starts it: loopback ports chosen by the kernel, JSON logs read
// for the bound addresses, readiness and delivery events.
type maild struct {
	bin, dataDir string
	cmd          *exec.Cmd
	addrs        map[string]string

	mu        sync.Mutex
	cond      *sync.Cond
	delivered int      // "delivered" events (local and remote)
	tail      []string // last log lines, for errors
	exited    bool
}

func startMaild(binDir, dataDir string, overrides ...string) (*maild, error) {
	lines := []string{
		`log.format = "json"`,
		`log.level = "info"`,
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
	}
	lines = append(lines, overrides...)
	cfg := filepath.Join(dataDir, "bench-maild.toml")
	if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	m := &maild{bin: binDir, dataDir: dataDir, addrs: map[string]string{}}
	m.cond = sync.NewCond(&m.mu)
	m.cmd = exec.Command(filepath.Join(binDir, "maild"), "--dev", "--data", dataDir, "--config", cfg)
	stderr, err := m.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan error, 1)
	go m.consume(stderr, ready)
	select {
	case err := <-ready:
		if err != nil {
			m.cmd.Process.Kill()
			return nil, fmt.Errorf("%w\n%s", err, m.logTail())
		}
	case <-time.After(60 * time.Second):
		m.cmd.Process.Kill()
		return nil, fmt.Errorf("maild not ready after 60s\n%s", m.logTail())
	}
	return m, nil
}

func (m *maild) consume(r io.Reader, ready chan<- error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	signalled := false
	for sc.Scan() {
		line := sc.Bytes()
		m.mu.Lock()
		if len(m.tail) >= 50 {
			m.tail = m.tail[1:]
		}
		m.tail = append(m.tail, string(line))
		if bytes.Contains(line, []byte(`"msg":"delivered"`)) {
			m.delivered++
			m.cond.Broadcast()
		}
		m.mu.Unlock()
		if signalled {
			continue
		}
		var e map[string]any
		if json.Unmarshal(line, &e) != nil {
			continue
		}
		switch e["msg"] {
		case "listening":
			p, _ := e["proto"].(string)
			a, _ := e["addr"].(string)
			m.mu.Lock()
			m.addrs[p] = a
			m.mu.Unlock()
		case "ready":
			ready <- nil
			signalled = true
		case "start failed":
			ready <- fmt.Errorf("maild: start failed")
			signalled = true
		}
	}
	m.mu.Lock()
	m.exited = true
	m.cond.Broadcast()
	m.mu.Unlock()
	if !signalled {
		ready <- fmt.Errorf("maild exited before ready")
	}
}

func (m *maild) addr(proto string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addrs[proto]
}

func (m *maild) logTail() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.tail, "\n")
}

func (m *maild) deliveredCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.delivered
}

// waitDelivered waits until the delivered count reaches n; it returns
// when that happened.
func (m *maild) waitDelivered(n int, timeout time.Duration) (time.Time, error) {
	timer := time.AfterFunc(timeout, func() {
		m.mu.Lock()
		m.cond.Broadcast()
		m.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.delivered < n {
		if m.exited || time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d of %d deliveries after %v", m.delivered, n, timeout)
		}
		m.cond.Wait()
	}
	return time.Now(), nil
}

// rss returns maild's resident set size in bytes (VmRSS).
func (m *maild) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", m.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}

// fdLimit returns maild's soft open-files limit.
func (m *maild) fdLimit() int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", m.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Max open files") {
			f := strings.Fields(l)
			if len(f) >= 5 {
				n, _ := strconv.Atoi(f[3])
				return n
			}
		}
	}
	return 0
}

func (m *maild) stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		m.cmd.Process.Kill()
		<-done
	}
}

// mailctl runs the real mailctl on the server's data dir.
func (m *maild) mailctl(stdin string, args ...string) error {
	cmd := exec.Command(filepath.Join(m.bin, "mailctl"), append([]string{"--data", m.dataDir}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("mailctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (m *maild) addUser(addr string) error {
	return m.mailctl(password+"\n", "user", "add", addr, "--password-stdin")
}

// maildir is the INBOX Maildir of a user.
func (m *maild) maildir(addr string) string {
	i := strings.LastIndex(addr, "@")
	return filepath.Join(m.dataDir, "mail", addr[i+1:], addr[:i])
}

const password = "bench-pw-123"
