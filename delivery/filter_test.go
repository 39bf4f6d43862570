package delivery

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

type fakeFilter struct {
	v   Verdict
	err error
	// block waits for ctx to end.
	block bool
	calls int
}

func (f *fakeFilter) Check(ctx context.Context, env *Envelope, msg *io.SectionReader) (Verdict, error) {
	f.calls++
	if f.block {
		<-ctx.Done()
		return Verdict{}, ctx.Err()
	}
	return f.v, f.err
}

func TestFilterChain(t *testing.T) {
	t.Parallel()
	msg := io.NewSectionReader(strings.NewReader("Subject: x\r\n\r\nbody\r\n"), 0, 20)
	env := &Envelope{ID: "Q1", From: "a@b.test"}
	down := errors.New("connection refused")
	tests := []struct {
		name     string
		filters  []ChainFilter
		stage    Stage
		wantCode int
		wantJunk bool
		wantHdr  []string
	}{
		{"accept adds headers", []ChainFilter{{Name: "a", Filter: &fakeFilter{v: Verdict{AddHeaders: []Field{{"X-A", "1"}}}}}}, Inbound, 0, false, []string{"X-A"}},
		{"reject default code", []ChainFilter{{Name: "clamd", Filter: &fakeFilter{v: Verdict{Action: Reject, Reason: "Virus found: X"}}}}, Inbound, 554, false, nil},
		{"reject own code", []ChainFilter{{Name: "spamd", Filter: &fakeFilter{v: Verdict{Action: Reject, Code: 550, Enhanced: [3]int{5, 7, 1}}}}}, Inbound, 550, false, nil},
		{"tempfail", []ChainFilter{{Name: "m", Filter: &fakeFilter{v: Verdict{Action: TempFail}}}}, Inbound, 451, false, nil},
		{"quarantine", []ChainFilter{{Name: "spamd", Filter: &fakeFilter{v: Verdict{Action: Quarantine}}}}, Inbound, 0, true, nil},
		{"fail open tags", []ChainFilter{{Name: "spamd", Filter: &fakeFilter{err: down}, FailOpen: true}}, Inbound, 0, false, []string{SkippedHeader}},
		{"fail closed 451", []ChainFilter{{Name: "clamd", Filter: &fakeFilter{err: down}}}, Inbound, 451, false, nil},
		{"timeout fail closed", []ChainFilter{{Name: "clamd", Filter: &fakeFilter{block: true}, Timeout: 50 * time.Millisecond}}, Inbound, 451, false, nil},
		{"submission skips spam", []ChainFilter{{Name: "spamd", Filter: &fakeFilter{v: Verdict{Action: Reject}}}}, Submission, 0, false, nil},
		{"submission runs virus", []ChainFilter{{Name: "clamd", Filter: &fakeFilter{v: Verdict{Action: Reject}}, OnSubmission: true}}, Submission, 554, false, nil},
		{"reject stops chain", []ChainFilter{{Name: "clamd", Filter: &fakeFilter{v: Verdict{Action: Reject}}}, {Name: "never", Filter: &fakeFilter{err: down}}}, Inbound, 554, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &FilterChain{Filters: tc.filters}
			res, err := c.Run(context.Background(), tc.stage, env, msg)
			code := 0
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is not *Error", err)
				}
				code = e.Code
				if (code/100 == 4) != e.Temporary {
					t.Errorf("code %d Temporary=%v", code, e.Temporary)
				}
			}
			if code != tc.wantCode || res.Junk != tc.wantJunk {
				t.Fatalf("code %d junk %v (err %v), want %d %v", code, res.Junk, err, tc.wantCode, tc.wantJunk)
			}
			var keys []string
			for _, f := range res.AddHeaders {
				keys = append(keys, f.Key)
			}
			if strings.Join(keys, ",") != strings.Join(tc.wantHdr, ",") {
				t.Errorf("headers %v, want %v", keys, tc.wantHdr)
			}
		})
	}
	if _, err := (*FilterChain)(nil).Run(context.Background(), Inbound, env, msg); err != nil {
		t.Errorf("nil chain: %v", err)
	}
}

// fakeServer serves one connection per accept with handle.
func fakeServer(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); handle(c) }()
		}
	}()
	return l.Addr().String()
}

func TestClamdInstream(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("x", 100<<10) + "VIRUS"
	addr := fakeServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		cmd, _ := br.ReadString(0)
		if cmd != "zINSTREAM\x00" {
			c.Write([]byte("UNKNOWN COMMAND\x00"))
			return
		}
		var got strings.Builder
		for {
			var n uint32
			if binary.Read(br, binary.BigEndian, &n) != nil {
				return
			}
			if n == 0 {
				break
			}
			io.CopyN(&got, br, int64(n))
		}
		if strings.Contains(got.String(), "VIRUS") {
			c.Write([]byte("stream: Test.Sig FOUND\x00"))
		} else {
			c.Write([]byte("stream: OK\x00"))
		}
	})
	c := &Clamd{Address: addr}
	v, err := c.Check(context.Background(), &Envelope{}, io.NewSectionReader(strings.NewReader(body), 0, int64(len(body))))
	if err != nil || v.Action != Reject || v.Reason != "Virus found: Test.Sig" {
		t.Fatalf("virus: %+v %v", v, err)
	}
	v, err = c.Check(context.Background(), &Envelope{}, io.NewSectionReader(strings.NewReader("clean"), 0, 5))
	if err != nil || v.Action != Accept {
		t.Fatalf("clean: %+v %v", v, err)
	}
	small := &Clamd{Address: addr, MaxBytes: 10}
	v, err = small.Check(context.Background(), &Envelope{}, io.NewSectionReader(strings.NewReader(body), 0, int64(len(body))))
	if err != nil || v.Action != Accept || len(v.AddHeaders) != 1 {
		t.Fatalf("over the limit: %+v %v", v, err)
	}
	if _, err := clamdVerdict("INSTREAM size limit exceeded. ERROR"); err == nil {
		t.Errorf("size limit error accepted")
	}
}

func TestSpamdCheck(t *testing.T) {
	t.Parallel()
	score := map[string]string{"ham": "1.5", "junk": "7.0", "reject": "30.0"}
	addr := fakeServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		line, _ := br.ReadString('\n')
		if !strings.HasPrefix(line, "SYMBOLS SPAMC/1.5") {
			c.Write([]byte("SPAMD/1.5 76 Bad header line\r\n"))
			return
		}
		n := 0
		for {
			l, _ := br.ReadString('\n')
			if l == "\r\n" || l == "" {
				break
			}
			if v, ok := strings.CutPrefix(l, "Content-length: "); ok {
				for _, r := range strings.TrimSpace(v) {
					n = n*10 + int(r-'0')
				}
			}
		}
		buf := make([]byte, n)
		io.ReadFull(br, buf)
		s := score[strings.TrimSpace(string(buf))]
		c.Write([]byte("SPAMD/1.1 0 EX_OK\r\nContent-length: 9\r\nSpam: True ; " + s + " / 5.0\r\n\r\nRULE_A,B\r\n"))
	})
	sp := &Spamd{Address: addr, JunkScore: 5, RejectScore: 20}
	for _, tc := range []struct {
		body   string
		action Action
	}{{"ham", Accept}, {"junk", Quarantine}, {"reject", Reject}} {
		v, err := sp.Check(context.Background(), &Envelope{}, io.NewSectionReader(strings.NewReader(tc.body), 0, int64(len(tc.body))))
		if err != nil || v.Action != tc.action {
			t.Errorf("%s: %+v %v, want %v", tc.body, v, err, tc.action)
			continue
		}
		if len(v.AddHeaders) != 2 || !strings.Contains(v.AddHeaders[0].Value, "score="+score[tc.body]+" required=5.0 tests=RULE_A,B") {
			t.Errorf("%s headers: %+v", tc.body, v.AddHeaders)
		}
	}
	// Down: an error, quickly.
	dead := &Spamd{Address: "127.0.0.1:1"}
	if _, err := dead.Check(context.Background(), &Envelope{}, io.NewSectionReader(strings.NewReader("x"), 0, 1)); err == nil {
		t.Errorf("spamd down: no error")
	}
}

func FuzzSpamHeader(f *testing.F) {
	f.Add("True ; 1000.0 / 5.0")
	f.Add("False ; -1 / 5")
	f.Fuzz(func(t *testing.T, s string) {
		parseSpamHeader(s)
		clamdVerdict(s)
	})
}
