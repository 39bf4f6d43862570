package main

// -soak: a long run (not in CI) of moderate mixed load, watching maild's
// memory and goroutines for leaks.

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"
)

type soakSample struct {
	at         time.Duration
	rss        int64
	goroutines int
}

// goroutines scrapes go_goroutines from maild's metrics endpoint.
func (m *maild) goroutines() (int, error) {
	addr := m.addr("metrics")
	if addr == "" {
		return 0, fmt.Errorf("no metrics listener")
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("no go_goroutines in /metrics")
}

func runSoak(d time.Duration, rate int, keep bool) error {
	tmp, err := os.MkdirTemp("", "yubin-soak-")
	if err != nil {
		return err
	}
	if keep {
		logf("data in %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	binDir := filepath.Join(tmp, "bin")
	logf("building maild and mailctl")
	for _, name := range []string{"maild", "mailctl"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, name), "yubin/cmd/"+name)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", name, err)
		}
	}
	dataDir := filepath.Join(tmp, "data")
	os.MkdirAll(dataDir, 0o750)
	m, err := startMaild(binDir, dataDir,
		`smtp.max_connections_per_ip = 1000`,
		`imap.max_connections_per_ip = 1000`,
	)
	if err != nil {
		return err
	}
	defer m.stop()
	if err := m.mailctl("", "domain", "add", "acme.test"); err != nil {
		return err
	}
	for i := range 10 {
		if err := m.addUser(fmt.Sprintf("u%d@acme.test", i)); err != nil {
			return err
		}
	}

	var (
		stop                  = make(chan struct{})
		wg                    sync.WaitGroup
		sent, imapOps, popMsg atomic.Int64
		errMu                 sync.Mutex
		firstErr              error
		nerr                  atomic.Int64
	)
	fail := func(err error) {
		nerr.Add(1)
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
	}
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	// SMTP: rate messages a second to u0..u9 over 2 sessions, each
	// reconnecting every 100 messages.
	for s := range 2 {
		wg.Go(func() {
			tick := time.NewTicker(time.Second * 2 / time.Duration(max(rate, 1)))
			defer tick.Stop()
			var c *smtp.Client
			defer func() {
				if c != nil {
					c.Quit()
				}
			}()
			for i := s; !stopped(); i += 2 {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if c == nil {
					var err error
					if c, err = smtp.Dial(m.addr("smtp")); err == nil {
						err = c.Hello("client.test")
					}
					if err != nil {
						fail(err)
						c = nil
						continue
					}
				}
				to := fmt.Sprintf("u%d@acme.test", i%10)
				if err := c.SendMail("sender@client.test", []string{to}, bytes.NewReader(message("sender@client.test", to, i, 4096))); err != nil {
					fail(err)
					c.Close()
					c = nil
					continue
				}
				sent.Add(1)
				if i%200 >= 198 {
					c.Quit()
					c = nil
				}
			}
		})
	}
	// IMAP: 5 clients on u5..u9, each looping SELECT, FETCH of the newest
	// 20 envelopes, SEARCH UNSEEN, NOOP, and expunging all but the newest
	// 200 messages; a new session every 50 rounds.
	for k := range 5 {
		wg.Go(func() {
			user := fmt.Sprintf("u%d@acme.test", 5+k)
			for round := 0; !stopped(); {
				c, err := imapLogin(m.addr("imap"), user)
				if err != nil {
					fail(err)
					time.Sleep(time.Second)
					continue
				}
				for ; round%50 != 49 && !stopped(); round++ {
					sel, err := c.Select("INBOX", nil).Wait()
					if err == nil && sel.NumMessages > 0 {
						s := imap.SeqSetNum()
						s.AddRange(max(1, sel.NumMessages-19), sel.NumMessages)
						_, err = c.Fetch(s, &imap.FetchOptions{Envelope: true, Flags: true}).Collect()
					}
					if err == nil {
						_, err = c.Search(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
					}
					if err == nil && sel.NumMessages > 200 {
						old := imap.SeqSetNum()
						old.AddRange(1, sel.NumMessages-200)
						err = c.Store(old, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
						if err == nil {
							err = c.Expunge().Close()
						}
					}
					if err == nil {
						err = c.Noop().Wait()
					}
					if err != nil {
						fail(err)
						break
					}
					imapOps.Add(4)
					time.Sleep(200 * time.Millisecond)
				}
				round++
				c.Logout().Wait()
				c.Close()
			}
		})
	}
	// POP3: drain u0..u4 in turn (RETR and DELE everything), a session
	// every second.
	wg.Go(func() {
		for i := 0; !stopped(); i++ {
			n, err := pop3Drain(m.addr("pop3"), fmt.Sprintf("u%d@acme.test", i%5))
			if err != nil {
				fail(err)
			}
			popMsg.Add(int64(n))
			select {
			case <-stop:
			case <-time.After(time.Second):
			}
		}
	})

	// Sample every 10 s.
	const every = 10 * time.Second
	var samples []soakSample
	start := time.Now()
	sample := func() {
		s := soakSample{at: time.Since(start).Round(time.Second)}
		s.rss, _ = m.rss()
		g, err := m.goroutines()
		if err != nil {
			logf("soak: metrics: %v", err)
		}
		s.goroutines = g
		samples = append(samples, s)
		logf("soak %6s: RSS %s, %d goroutines; sent %d, IMAP cmds %d, POP3 msgs %d, errors %d",
			s.at, mb(s.rss), s.goroutines, sent.Load(), imapOps.Load(), popMsg.Load(), nerr.Load())
	}
	logf("soak: %v of mixed load, %d SMTP msg/s, 5 IMAP clients, 1 POP3 client", d, rate)
	tick := time.NewTicker(every)
	end := time.After(d)
loop:
	for {
		select {
		case <-tick.C:
			sample()
		case <-end:
			break loop
		}
	}
	tick.Stop()
	close(stop)
	wg.Wait()
	el := time.Since(start)
	if len(samples) == 0 || samples[len(samples)-1].at < d-time.Second {
		sample()
	}

	// Warm-up: the first tenth of the run, at least the first sample.
	warm := max(every, d/10)
	first := samples[len(samples)-1]
	for _, s := range samples {
		if s.at >= warm {
			first = s
			break
		}
	}
	last := samples[len(samples)-1]
	var maxRSS int64
	maxG := 0
	for _, s := range samples {
		maxRSS, maxG = max(maxRSS, s.rss), max(maxG, s.goroutines)
	}
	fmt.Printf("\nYubin soak  %s  %v, %d samples every %v (first after %v warm-up)\n\n", time.Now().Format("2006-01-02 15:04"), el.Round(time.Second), len(samples), every, warm)
	fmt.Printf("load: %d SMTP messages (%.1f/s), %d IMAP commands (%.1f/s), %d POP3 messages downloaded and deleted; %d errors\n",
		sent.Load(), float64(sent.Load())/el.Seconds(), imapOps.Load(), float64(imapOps.Load())/el.Seconds(), popMsg.Load(), nerr.Load())
	fmt.Printf("maild RSS:        first %s (at %v), last %s, max %s\n", mb(first.rss), first.at, mb(last.rss), mb(maxRSS))
	fmt.Printf("maild goroutines: first %d, last %d, max %d\n", first.goroutines, last.goroutines, maxG)
	if firstErr != nil {
		fmt.Printf("first error: %v\n", firstErr)
	}
	rssGrew := float64(last.rss) > 1.5*float64(first.rss)
	gGrew := float64(last.goroutines) > 1.5*float64(first.goroutines)
	if rssGrew && gGrew {
		return fmt.Errorf("soak: RSS and goroutines both grew more than 1.5x after warm-up (%s -> %s, %d -> %d)", mb(first.rss), mb(last.rss), first.goroutines, last.goroutines)
	}
	if sent.Load() == 0 {
		return fmt.Errorf("soak: no message sent: %v", firstErr)
	}
	fmt.Println("no steady growth (fails when both last > 1.5x first)")
	return nil
}

// pop3Drain logs in as user, RETRs and DELEs every message and QUITs; it
// returns the number of messages.
func pop3Drain(addr, user string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(c)
	cmd := func(line string) (string, error) {
		if line != "" {
			if _, err := c.Write([]byte(line + "\r\n")); err != nil {
				return "", err
			}
		}
		resp, err := r.ReadString('\n')
		if err == nil && !strings.HasPrefix(resp, "+OK") {
			err = fmt.Errorf("POP3 %q: %s", strings.Fields(line + " ")[0], strings.TrimSpace(resp))
		}
		return resp, err
	}
	for _, l := range []string{"", "USER " + user, "PASS " + password} {
		if _, err := cmd(l); err != nil {
			return 0, err
		}
	}
	stat, err := cmd("STAT")
	if err != nil {
		return 0, err
	}
	var n int
	fmt.Sscanf(stat, "+OK %d", &n)
	for i := 1; i <= n; i++ {
		if _, err := cmd(fmt.Sprintf("RETR %d", i)); err != nil {
			return 0, err
		}
		for {
			line, err := r.ReadSlice('\n')
			if err != nil {
				return 0, err
			}
			if len(line) == 3 && line[0] == '.' {
				break
			}
		}
		if _, err := cmd(fmt.Sprintf("DELE %d", i)); err != nil {
			return 0, err
		}
	}
	_, err = cmd("QUIT")
	return n, err
}
