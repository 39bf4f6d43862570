package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// message returns a message of about size bytes (CRLF lines).
func message(from, to string, i, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: bench %d\r\nMessage-ID: <bench.%d.%d@client.test>\r\nDate: %s\r\n\r\n",
		from, to, i, i, time.Now().UnixNano(), time.Now().Format(time.RFC1123Z))
	const line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod t\r\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	return b.Bytes()
}

// loadResult is one run of the Go load generator.
type loadResult struct {
	n        int
	elapsed  time.Duration
	p50, p99 time.Duration
	errors   int
}

func (r loadResult) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

// loadOptions describe one Go load run.
type loadOptions struct {
	addr     string
	sessions int
	n        int
	size     int
	from     string
	rcpt     func(i int) string
	// auth: STARTTLS and AUTH PLAIN as from (submission).
	auth bool
}

// runLoad sends o.n messages over o.sessions connections, each reused for
// its messages; the latency of a message is MAIL to the reply after DATA.
func runLoad(o loadOptions) (loadResult, error) {
	var next atomic.Int64
	lat := make([][]time.Duration, o.sessions)
	errs := make([]error, o.sessions)
	var nerr atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for s := range o.sessions {
		wg.Go(func() {
			var c *smtp.Client
			var err error
			if o.auth {
				c, err = smtp.DialStartTLS(o.addr, &tls.Config{InsecureSkipVerify: true})
				if err == nil {
					err = c.Auth(sasl.NewPlainClient("", o.from, password))
				}
			} else {
				c, err = smtp.Dial(o.addr)
				if err == nil {
					err = c.Hello("client.test")
				}
			}
			if err != nil {
				errs[s] = err
				return
			}
			defer c.Close()
			for {
				i := int(next.Add(1)) - 1
				if i >= o.n {
					break
				}
				to := o.rcpt(i)
				msg := message(o.from, to, i, o.size)
				t0 := time.Now()
				if err := c.SendMail(o.from, []string{to}, bytes.NewReader(msg)); err != nil {
					if nerr.Add(1) == 1 {
						errs[s] = err
					}
					continue
				}
				lat[s] = append(lat[s], time.Since(t0))
			}
			c.Quit()
		})
	}
	wg.Wait()
	r := loadResult{elapsed: time.Since(start), errors: int(nerr.Load())}
	all := slices.Concat(lat...)
	slices.Sort(all)
	r.n = len(all)
	if r.n == 0 {
		for _, err := range errs {
			if err != nil {
				return r, err
			}
		}
		return r, fmt.Errorf("no message sent")
	}
	r.p50, r.p99 = all[r.n/2], all[r.n*99/100]
	for _, err := range errs {
		if err != nil {
			return r, fmt.Errorf("%d errors, first: %w", r.errors, err)
		}
	}
	return r, nil
}

// runSMTPSource runs Postfix's smtp-source: n messages of size bytes over
// sessions parallel sessions (-d: each session reuses its connection),
// and returns the wall time.
func runSMTPSource(path, addr string, sessions, n, size int, from, to string) (time.Duration, error) {
	cmd := exec.Command(path, "-d", "-s", strconv.Itoa(sessions), "-m", strconv.Itoa(n), "-l", strconv.Itoa(size),
		"-f", from, "-t", to, "-M", "client.test", addr)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("smtp-source: %v\n%s", err, out)
	}
	return time.Since(start), nil
}

// sink accepts SMTP on loopback and discards the mail: Postfix's
// smtp-sink when installed, else a go-smtp server.
type sink struct {
	port  int
	kind  string
	cmd   *exec.Cmd
	srv   *smtp.Server
	count atomic.Int64
}

func startSink(smtpSink string) (*sink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{port: l.Addr().(*net.TCPAddr).Port}
	if smtpSink != "" {
		// smtp-sink binds its own socket: free ours, then start it on
		// the same port (-u: stay as this user; -h: its hostname).
		l.Close()
		s.kind = "smtp-sink"
		s.cmd = exec.Command(smtpSink, "-u", currentUser(), "-h", "sink.test", fmt.Sprintf("127.0.0.1:%d", s.port), "1024")
		if err := s.cmd.Start(); err != nil {
			return nil, err
		}
		for range 100 { // until it listens
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port)); err == nil {
				c.Close()
				return s, nil
			}
			time.Sleep(20 * time.Millisecond)
		}
		s.cmd.Process.Kill()
		return nil, fmt.Errorf("smtp-sink did not listen on %d", s.port)
	}
	s.kind = "Go sink"
	s.srv = smtp.NewServer(sinkBackend{s})
	s.srv.Domain = "sink.test"
	s.srv.MaxRecipients = 1000
	go s.srv.Serve(l)
	return s, nil
}

func (s *sink) close() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
	if s.srv != nil {
		s.srv.Close()
	}
}

type sinkBackend struct{ s *sink }

func (b sinkBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return sinkSession(b), nil }

type sinkSession struct{ s *sink }

func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s sinkSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	s.s.count.Add(1)
	return err
}
func (sinkSession) Reset()        {}
func (sinkSession) Logout() error { return nil }
