package imapd

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// The benchmarks run a real server over a real store whose INBOX holds n
// generated messages (2-4 KiB, CRLF). The files are written straight into
// the Maildir and indexed by one Refresh, as if another tool had
// delivered them: going through Account.Deliver would cost one fsync per
// message. Each size is built once per process and shared by every
// benchmark; TestMain removes it.

var benchSizes = []int{10_000, 100_000}

type benchFixture struct {
	once sync.Once
	ts   *testServer
	err  error
	// writeTime and indexTime are the one-time costs of the fixture:
	// writing the files and indexing them (Account.Refresh of INBOX).
	writeTime, indexTime time.Duration
	flagged, subjectX    int // messages that SEARCH FLAGGED / SUBJECT "x" match
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[int]*benchFixture{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	fixturesMu.Lock()
	for _, fx := range fixtures {
		if fx.ts != nil {
			fx.ts.close()
			os.RemoveAll(fx.ts.dir)
		}
	}
	fixturesMu.Unlock()
	os.Exit(code)
}

// fixture returns the populated server for n messages, building it on
// first use.
func fixture(b *testing.B, n int) *benchFixture {
	b.Helper()
	fixturesMu.Lock()
	fx := fixtures[n]
	if fx == nil {
		fx = &benchFixture{}
		fixtures[n] = fx
	}
	fixturesMu.Unlock()
	fx.once.Do(func() {
		fx.err = fx.build(n)
		if fx.err == nil {
			b.Logf("fixture n=%d: wrote files in %v, indexed (Refresh) in %v; %d flagged, %d with x in Subject",
				n, fx.writeTime.Round(time.Millisecond), fx.indexTime.Round(time.Millisecond), fx.flagged, fx.subjectX)
		}
	})
	if fx.err != nil {
		b.Fatal(fx.err)
	}
	return fx
}

func (fx *benchFixture) build(n int) error {
	dir, err := os.MkdirTemp("", "imapd-bench-")
	if err != nil {
		return err
	}
	st, acct, err := openTestStore(dir)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	fail := func(err error) error {
		st.Close()
		os.RemoveAll(dir)
		return err
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	base := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	for i := range n {
		date := base.Add(time.Duration(i) * time.Minute)
		subject := benchMessage(&buf, rng, i, date)
		if strings.Contains(strings.ToLower(subject), "x") {
			fx.subjectX++
		}
		// Most mail has been read (cur/, S); a few are flagged; the
		// newest tenth is unread in new/.
		name := fmt.Sprintf("%d.M%dP1.bench,S=%d", date.Unix(), i, buf.Len())
		var path string
		switch {
		case i >= n-n/10:
			path = filepath.Join(acct.Dir(), "new", name)
		case i%50 == 7:
			path = filepath.Join(acct.Dir(), "cur", name+":2,FS")
			fx.flagged++
		default:
			path = filepath.Join(acct.Dir(), "cur", name+":2,S")
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			return fail(err)
		}
	}
	fx.writeTime = time.Since(start)
	start = time.Now()
	rescanned, err := acct.Refresh(context.Background(), "INBOX")
	if err != nil {
		return fail(err)
	}
	if !rescanned {
		return fail(fmt.Errorf("Refresh did not rescan INBOX after %d files were added", n))
	}
	fx.indexTime = time.Since(start)
	ts, err := serve(dir, st, acct)
	if err != nil {
		return fail(err)
	}
	fx.ts = ts
	return nil
}

var (
	benchNames   = []string{"Alice Martin", "Bob Chen", "Carol Diaz", "Dmitri Ivanov", "Eve Okafor", "Frank Müller", "Grace Ho", "Hiro Sato"}
	benchDomains = []string{"example.net", "example.org", "mail.example.com", "lists.example.io"}
	benchWords   = strings.Fields(`the quarterly report meeting notes budget review project phoenix
		deadline release schedule invoice tax refund travel plans lunch order
		server outage postmortem design proposal draft feedback contract renewal
		shipping update newsletter weekly digest hiring plan offsite agenda`)
)

// benchMessage writes a realistic 2-4 KiB CRLF message to buf and returns
// its subject.
func benchMessage(buf *bytes.Buffer, rng *rand.Rand, i int, date time.Time) string {
	buf.Reset()
	name := benchNames[rng.IntN(len(benchNames))]
	local := strings.ToLower(strings.Fields(name)[0])
	domain := benchDomains[rng.IntN(len(benchDomains))]
	var subject []string
	for range 2 + rng.IntN(4) {
		subject = append(subject, benchWords[rng.IntN(len(benchWords))])
	}
	subj := strings.Join(subject, " ")
	if rng.IntN(4) == 0 {
		subj = "Re: " + subj
	}
	d := date.Format(time.RFC1123Z)
	fmt.Fprintf(buf, "Return-Path: <%s@%s>\r\n", local, domain)
	fmt.Fprintf(buf, "Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\r\n\tby mail.imapd.test with ESMTPS id %08x\r\n\tfor <%s>; %s\r\n",
		i%7, domain, i%7, domain, i%250+1, rng.Uint32(), testUser, d)
	fmt.Fprintf(buf, "From: %q <%s@%s>\r\n", name, local, domain)
	fmt.Fprintf(buf, "To: <%s>\r\n", testUser)
	fmt.Fprintf(buf, "Subject: %s\r\n", subj)
	fmt.Fprintf(buf, "Date: %s\r\n", d)
	fmt.Fprintf(buf, "Message-ID: <%d.%08x@%s>\r\n", i, rng.Uint32(), domain)
	buf.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	target := buf.Len() + 1500 + rng.IntN(2048)
	line := 0
	for buf.Len() < target {
		w := benchWords[rng.IntN(len(benchWords))]
		if line+len(w)+1 > 72 {
			buf.WriteString("\r\n")
			line = 0
		} else if line > 0 {
			buf.WriteByte(' ')
			line++
		}
		buf.WriteString(w)
		line += len(w)
	}
	buf.WriteString("\r\n")
	return subj
}

// forSizes runs fn as one sub-benchmark per mailbox size, with a logged-in
// client.
func forSizes(b *testing.B, sizes []int, fn func(b *testing.B, n int, fx *benchFixture, c *imapclient.Client)) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			if n >= 100_000 && testing.Short() {
				b.Skip("100k messages: not with -short")
			}
			fx := fixture(b, n)
			c := fx.ts.login(b, nil)
			fn(b, n, fx, c)
		})
	}
}

func selectInbox(b *testing.B, c *imapclient.Client, n int) {
	b.Helper()
	d, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		b.Fatal(err)
	}
	if d.NumMessages != uint32(n) {
		b.Fatalf("SELECT: %d messages, want %d", d.NumMessages, n)
	}
}

func reportRate(b *testing.B, perOp int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(perOp)*float64(b.N)/s, "msgs/s")
	}
}

// BenchmarkSelect: SELECT INBOX. "again" selects the selected mailbox
// again (clients do, to resynchronise): its loaded state is reused.
// "cold" selects an empty mailbox first, so each SELECT INBOX loads the
// mailbox from the index (Refresh, UIDVALIDITY and every message's entry).
func BenchmarkSelect(b *testing.B) {
	for _, cold := range []bool{false, true} {
		name := "again"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) {
			forSizes(b, benchSizes, func(b *testing.B, n int, _ *benchFixture, c *imapclient.Client) {
				if err := c.Create("Other", nil).Wait(); err != nil && !strings.Contains(err.Error(), "exists") {
					b.Fatal(err)
				}
				for b.Loop() {
					if cold {
						if _, err := c.Select("Other", nil).Wait(); err != nil {
							b.Fatal(err)
						}
					}
					selectInbox(b, c, n)
				}
				reportRate(b, n)
			})
		})
	}
}

// BenchmarkMixed: 20 concurrent sessions on one 10k mailbox, each looping
// EXAMINE, FETCH (ENVELOPE FLAGS) of the newest 20, SEARCH UNSEEN and
// NOOP, like the mixed load of make bench. Reports commands per second.
func BenchmarkMixed(b *testing.B) {
	const clients, n = 20, 10_000
	fx := fixture(b, n)
	cs := make([]*imapclient.Client, clients)
	for i := range cs {
		cs[i] = fx.ts.login(b, nil)
	}
	var next sync.WaitGroup
	work := make(chan struct{})
	errs := make(chan error, clients)
	b.ResetTimer()
	for _, c := range cs {
		next.Go(func() {
			for range work {
				sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
				if err == nil {
					set := imap.SeqSetNum()
					set.AddRange(max(1, sel.NumMessages-19), sel.NumMessages)
					_, err = c.Fetch(set, &imap.FetchOptions{Envelope: true, Flags: true}).Collect()
				}
				if err == nil {
					_, err = c.Search(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
				}
				if err == nil {
					err = c.Noop().Wait()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	next.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(4*float64(b.N)/s, "cmds/s")
	}
}

// BenchmarkFetchFlags: UID FETCH 1:* (FLAGS), all responses collected.
func BenchmarkFetchFlags(b *testing.B) {
	forSizes(b, benchSizes, func(b *testing.B, n int, _ *benchFixture, c *imapclient.Client) {
		selectInbox(b, c, n)
		for b.Loop() {
			msgs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true}).Collect()
			if err != nil {
				b.Fatal(err)
			}
			if len(msgs) != n {
				b.Fatalf("FETCH returned %d messages, want %d", len(msgs), n)
			}
		}
		reportRate(b, n)
	})
}

// BenchmarkFetchHeaders: UID FETCH of the newest 100 messages'
// BODY.PEEK[HEADER.FIELDS (From Subject Date)], and (10k only) the
// newest 50 whole messages and ENVELOPE of the whole mailbox.
func BenchmarkFetchHeaders(b *testing.B) {
	b.Run("fields-last100", func(b *testing.B) {
		forSizes(b, benchSizes, func(b *testing.B, n int, _ *benchFixture, c *imapclient.Client) {
			selectInbox(b, c, n)
			section := &imap.FetchItemBodySection{
				Specifier:    imap.PartSpecifierHeader,
				HeaderFields: []string{"From", "Subject", "Date"},
				Peek:         true,
			}
			set := imap.UIDSet{{Start: imap.UID(n - 99), Stop: imap.UID(n)}}
			for b.Loop() {
				msgs, err := c.Fetch(set, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
				if err != nil {
					b.Fatal(err)
				}
				if len(msgs) != 100 {
					b.Fatalf("FETCH returned %d messages, want 100", len(msgs))
				}
				if h := msgs[99].FindBodySection(section); !bytes.Contains(h, []byte("Subject: ")) || bytes.Contains(h, []byte("Received:")) {
					b.Fatalf("HEADER.FIELDS = %q", h)
				}
			}
			reportRate(b, 100)
		})
	})
	b.Run("body-last50", func(b *testing.B) {
		forSizes(b, benchSizes[:1], func(b *testing.B, n int, _ *benchFixture, c *imapclient.Client) {
			selectInbox(b, c, n)
			set := imap.UIDSet{{Start: imap.UID(n - 49), Stop: imap.UID(n)}}
			section := &imap.FetchItemBodySection{Peek: true}
			for b.Loop() {
				msgs, err := c.Fetch(set, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
				if err != nil {
					b.Fatal(err)
				}
				if len(msgs) != 50 || len(msgs[0].FindBodySection(section)) < 1000 {
					b.Fatalf("FETCH BODY.PEEK[] returned %d messages", len(msgs))
				}
			}
			reportRate(b, 50)
		})
	})
	b.Run("envelope-all", func(b *testing.B) {
		forSizes(b, benchSizes[:1], func(b *testing.B, n int, _ *benchFixture, c *imapclient.Client) {
			selectInbox(b, c, n)
			for b.Loop() {
				msgs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Envelope: true}).Collect()
				if err != nil {
					b.Fatal(err)
				}
				if len(msgs) != n || msgs[0].Envelope == nil || msgs[0].Envelope.Subject == "" {
					b.Fatalf("FETCH ENVELOPE returned %d messages, first %+v", len(msgs), msgs[0].Envelope)
				}
			}
			reportRate(b, n)
		})
	})
}

// BenchmarkSearch: UID SEARCH FLAGGED (memory only), UID SEARCH SUBJECT
// "x" (every message's header is read once, then cached) and UID SEARCH
// BODY (every message's text is read).
func BenchmarkSearch(b *testing.B) {
	cases := []struct {
		name     string
		criteria *imap.SearchCriteria
		want     func(fx *benchFixture) int
	}{
		{"flagged", &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, func(fx *benchFixture) int { return fx.flagged }},
		{"subject", &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "x"}}}, func(fx *benchFixture) int { return fx.subjectX }},
		// No body holds this word: every message's text is read.
		{"body", &imap.SearchCriteria{Body: []string{"postmortem-zz"}}, func(fx *benchFixture) int { return 0 }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			forSizes(b, benchSizes, func(b *testing.B, n int, fx *benchFixture, c *imapclient.Client) {
				selectInbox(b, c, n)
				for b.Loop() {
					d, err := c.UIDSearch(tc.criteria, nil).Wait()
					if err != nil {
						b.Fatal(err)
					}
					if got := len(d.AllUIDs()); got != tc.want(fx) {
						b.Fatalf("SEARCH matched %d, want %d", got, tc.want(fx))
					}
				}
				reportRate(b, n)
			})
		})
	}
}
