package main

// The IMAP stress load (issue 16): N clients on one shared mailbox for a
// fixed time, each issuing a random mix weighted like a real client and
// checking every response against its own model of the mailbox
// (stressmodel.go). It works against any server (-stress-addr) as well
// as against the maild and the private Dovecot that bench starts.

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stressOptions say what to load and how.
type stressOptions struct {
	Addr, User, Password string
	Mailbox              string // the shared mailbox; INBOX when empty
	Clients              int
	Duration             time.Duration
	Seed                 uint64
	// Target is a folder for COPY/MOVE, created when missing.
	Target string
	// QResync enables QRESYNC (RFC 7162) where offered, so expunges
	// come as VANISHED.
	QResync bool
}

// opStat is one operation kind's counts and latencies.
type opStat struct {
	n   int
	lat []time.Duration
}

// errStat counts one protocol error kind and keeps the first examples.
type errStat struct {
	n        int
	examples []string
	during   []string
}

// stressResult is the whole run's outcome.
type stressResult struct {
	elapsed time.Duration
	ops     map[string]*opStat
	errs    map[string]*errStat
	fatal   []string       // clients that could not run
	allowed map[string]int // NO replies the RFCs allow under races
	caps    string
	// seen counts the untagged responses checked, by word.
	seen map[string]int
	// redundant counts unsolicited FETCH FLAGS that changed nothing.
	redundant int
}

func (r *stressResult) total() int {
	n := 0
	for _, o := range r.ops {
		n += o.n
	}
	return n
}

func (r *stressResult) errCount() int {
	n := 0
	for _, e := range r.errs {
		n += e.n
	}
	return n
}

func (r *stressResult) rate() float64 { return float64(r.total()) / r.elapsed.Seconds() }

// stressClient is one session and its model.
type stressClient struct {
	id    int
	opts  stressOptions
	rng   *rand.Rand
	conn  net.Conn
	r     *bufio.Reader
	w     *bufio.Writer
	tag   int
	model *mailboxModel
	caps  map[string]bool
	// ring is the recent transcript, for error examples.
	ring []string
	res  *stressResult
	mu   *sync.Mutex
	// code and codeArgs are the last tagged response's code (APPENDUID).
	code     string
	codeArgs []value
	// seen counts this session's untagged responses until close.
	seen map[string]int
	// dead: the session failed and could not reconnect.
	dead bool
}

const transcriptLines = 8

func (c *stressClient) note(dir, line string) {
	if len(c.ring) == transcriptLines {
		c.ring = c.ring[1:]
	}
	c.ring = append(c.ring, dir+trunc(line, 160))
}

// protoError counts one error with the transcript so far.
func (c *stressClient) protoError(kind, detail string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.res.errs[kind]
	if e == nil {
		e = &errStat{}
		c.res.errs[kind] = e
	}
	e.n++
	// Keep the first example seen during each command kind (up to 4), so
	// that different causes of one kind show.
	during := c.model.cmd
	if len(e.examples) < 4 && !slices.Contains(e.during, during) {
		e.during = append(e.during, during)
		e.examples = append(e.examples, fmt.Sprintf("client %d, during %q: %s\n      %s", c.id, during, detail, strings.Join(c.ring, "\n      ")))
	}
}

// errFatal ends a session (the connection is gone or out of sync).
var errFatal = errors.New("session over")

// send writes a command with a new tag and returns the tag.
func (c *stressClient) send(format string, args ...any) (string, error) {
	c.tag++
	tag := "s" + strconv.Itoa(c.tag)
	line := tag + " " + fmt.Sprintf(format, args...)
	c.note("C: ", line)
	c.conn.SetDeadline(time.Now().Add(60 * time.Second))
	c.w.WriteString(line + "\r\n")
	return tag, c.w.Flush()
}

// read reads and checks one response.
func (c *stressClient) read() (*response, error) {
	wl, err := readWireLine(c.r)
	if err != nil {
		if errors.Is(err, errMalformed) {
			c.protoError(errMalformedResp, err.Error())
		}
		return nil, fmt.Errorf("%w: %v", errFatal, err)
	}
	c.note("S: ", wl.text)
	resp, err := parseResponse(wl)
	if err != nil {
		c.protoError(errMalformedResp, err.Error())
		return nil, nil // skip the line; the next one starts clean
	}
	if resp.tag == "*" {
		c.seen[resp.word]++
		for _, e := range c.model.untagged(resp) {
			c.protoError(e.kind, e.detail)
		}
		switch resp.word {
		case "BYE":
			return nil, fmt.Errorf("%w: BYE %s", errFatal, resp.text)
		case "CAPABILITY":
			c.setCaps(resp.args)
		}
		if resp.word == "OK" && resp.code == "CAPABILITY" {
			c.setCaps(resp.args)
		}
	}
	return resp, nil
}

func (c *stressClient) setCaps(args []value) {
	c.caps = map[string]bool{}
	for _, a := range args {
		c.caps[strings.ToUpper(a.atom)] = true
	}
}

// cmd runs one command to its tagged response. kind is the command name
// for the EXPUNGE rule ("FETCH", "UID FETCH", ...); mayFail says a NO
// is an accepted outcome (CREATE of an existing folder).
func (c *stressClient) cmd(kind string, mayFail bool, format string, args ...any) (*response, error) {
	tag, err := c.send(format, args...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errFatal, err)
	}
	return c.wait(kind, tag, mayFail)
}

func (c *stressClient) wait(kind, tag string, mayFail bool) (*response, error) {
	c.model.cmd = kind
	defer func() { c.model.cmd = "" }()
	for {
		resp, err := c.read()
		if err != nil {
			return nil, err
		}
		if resp == nil || resp.tag == "*" || resp.tag == "+" {
			continue
		}
		if resp.tag != tag {
			c.protoError(errMalformedResp, fmt.Sprintf("tag %q while waiting for %q", resp.tag, tag))
			continue
		}
		c.code, c.codeArgs = resp.code, resp.args
		if resp.code == "CAPABILITY" {
			c.setCaps(resp.args)
		}
		switch {
		case resp.word == "OK":
		case mayFail && resp.word == "NO":
		case resp.word == "NO" && resp.code == "EXPUNGEISSUED" && strings.HasPrefix(kind, "UID "):
			// RFC 5530 §3: a message named by UID was expunged by another
			// session before this one heard of it; a race, not an error.
			c.mu.Lock()
			c.res.allowed["NO [EXPUNGEISSUED] to "+kind]++
			c.mu.Unlock()
		case resp.word == "NO":
			c.protoError(errNoToValid, fmt.Sprintf("%s: %s", kind, trunc(resp.raw, 120)))
		default:
			c.protoError(errBadToValid, fmt.Sprintf("%s: %s", kind, trunc(resp.raw, 120)))
		}
		return resp, nil
	}
}

// connect dials, logs in, selects the shared mailbox and fetches every
// UID and flag (what a client does on first open).
func (c *stressClient) connect() error {
	conn, err := net.DialTimeout("tcp", c.opts.Addr, 10*time.Second)
	if err != nil {
		return err
	}
	c.conn, c.r, c.w = conn, bufio.NewReaderSize(conn, 64<<10), bufio.NewWriter(conn)
	c.model = newMailboxModel()
	c.conn.SetDeadline(time.Now().Add(60 * time.Second))
	greet, err := c.read()
	if err != nil || greet == nil || greet.word != "OK" {
		return fmt.Errorf("greeting: %v", err)
	}
	if _, err := c.cmd("CAPABILITY", false, "CAPABILITY"); err != nil {
		return err
	}
	// A server may refuse logins for a while under load (RFC 5530
	// UNAVAILABLE); each refusal is counted, and the client retries as a
	// real one would, so the run keeps its clients.
	for try := 1; ; try++ {
		r, err := c.cmd("LOGIN", false, "LOGIN %s %s", quote(c.opts.User), quote(c.opts.Password))
		if err != nil {
			return fmt.Errorf("login: %w", err)
		}
		if r.word == "OK" {
			break
		}
		if r.code != "UNAVAILABLE" || try == 10 {
			return fmt.Errorf("login: %s", trunc(r.raw, 120))
		}
		time.Sleep(time.Duration(try*50) * time.Millisecond)
	}
	if c.code != "CAPABILITY" {
		if _, err := c.cmd("CAPABILITY", false, "CAPABILITY"); err != nil {
			return err
		}
	}
	if c.id == 0 {
		c.mu.Lock()
		caps := make([]string, 0, len(c.caps))
		for k := range c.caps {
			caps = append(caps, k)
		}
		slices.Sort(caps)
		c.res.caps = strings.Join(caps, " ")
		c.mu.Unlock()
	}
	if c.opts.QResync && c.caps["QRESYNC"] {
		if _, err := c.cmd("ENABLE", false, "ENABLE QRESYNC"); err != nil {
			return err
		}
		c.model.qresync = true
	}
	if _, err := c.cmd("CREATE", true, "CREATE %s", quote(c.opts.Target)); err != nil {
		return err
	}
	if r, err := c.cmd("SELECT", false, "SELECT %s", quote(c.opts.Mailbox)); err != nil {
		return fmt.Errorf("select: %w", err)
	} else if r.word != "OK" {
		return fmt.Errorf("select: %s", trunc(r.raw, 120))
	}
	if c.model.count() > 0 {
		if _, err := c.cmd("UID FETCH", false, "UID FETCH 1:* (FLAGS)"); err != nil {
			return err
		}
	}
	return nil
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// syncNew fetches the UIDs and flags of messages announced but not yet
// fetched, as a client does after EXISTS.
func (c *stressClient) syncNew() error {
	if c.model.unknown() == 0 {
		return nil
	}
	_, err := c.cmd("UID FETCH", false, "UID FETCH %d:* (FLAGS)", c.model.maxUID+1)
	return err
}

// pickUID returns a random known UID (0 when none).
func (c *stressClient) pickUID() uint32 {
	n := len(c.model.uids)
	for range 4 {
		if n == 0 {
			return 0
		}
		if u := c.model.uids[c.rng.IntN(n)]; u != 0 {
			return u
		}
	}
	return 0
}

// runStress runs the load and returns its result.
func runStress(opts stressOptions) *stressResult {
	if opts.Mailbox == "" {
		opts.Mailbox = "INBOX"
	}
	if opts.Target == "" {
		opts.Target = "Stress"
	}
	res := &stressResult{ops: map[string]*opStat{}, errs: map[string]*errStat{}, allowed: map[string]int{}, seen: map[string]int{}}
	for _, op := range stressMix {
		res.ops[op.name] = &opStat{}
	}
	total := 0
	for _, op := range stressMix {
		total += op.weight
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	// Everyone logs in and syncs first; the clock starts after.
	clients := make([]*stressClient, opts.Clients)
	for i := range clients {
		c := &stressClient{id: i, opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, uint64(i))), res: res, mu: &mu, seen: map[string]int{}}
		clients[i] = c
		wg.Go(func() {
			if err := c.connect(); err != nil {
				mu.Lock()
				res.fatal = append(res.fatal, fmt.Sprintf("client %d: connect: %v", i, err))
				mu.Unlock()
				c.close()
				clients[i] = nil
			}
		})
	}
	wg.Wait()
	start := time.Now()
	stop := start.Add(opts.Duration)
	for _, c := range clients {
		if c == nil {
			continue
		}
		wg.Go(func() {
			for time.Now().Before(stop) {
				k := c.rng.IntN(total)
				op := stressMix[0]
				for _, o := range stressMix {
					if k < o.weight {
						op = o
						break
					}
					k -= o.weight
				}
				t0 := time.Now()
				err := op.run(c)
				if err == nil {
					err = c.syncNew()
				}
				d := time.Since(t0)
				mu.Lock()
				st := res.ops[op.name]
				st.n++
				st.lat = append(st.lat, d)
				mu.Unlock()
				if err != nil {
					c.protoError(errConnLost, fmt.Sprintf("%s: %v", op.name, err))
					c.close()
					if !time.Now().Before(stop) {
						c.dead = true
						return
					}
					if err := c.connect(); err != nil {
						mu.Lock()
						res.fatal = append(res.fatal, fmt.Sprintf("client %d: reconnect: %v", c.id, err))
						mu.Unlock()
						c.dead = true
						return
					}
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	// With the load stopped, every session catches up (NOOP) and must
	// then hold exactly the server's UIDs: a session that missed an
	// EXISTS or EXPUNGE shows here even when no single response gave it
	// away.
	for _, c := range clients {
		if c == nil {
			continue
		}
		wg.Go(func() {
			defer c.close()
			if c.dead {
				return
			}
			if err := c.finalCheck(); err != nil {
				c.protoError(errConnLost, "final check: "+err.Error())
				return
			}
			c.cmd("LOGOUT", true, "LOGOUT")
		})
	}
	wg.Wait()
	return res
}

// finalCheck compares the session's view with UID SEARCH ALL once the
// load has stopped.
func (c *stressClient) finalCheck() error {
	if _, err := c.cmd("NOOP", false, "NOOP"); err != nil {
		return err
	}
	if err := c.syncNew(); err != nil {
		return err
	}
	c.model.lastSearch = nil
	r, err := c.cmd("UID SEARCH", false, "UID SEARCH ALL")
	if err != nil || r.word != "OK" {
		return err
	}
	got := slices.Clone(c.model.lastSearch)
	slices.Sort(got)
	if !slices.Equal(got, c.model.uids) {
		missing, extra := 0, 0
		for _, u := range got {
			if !slices.Contains(c.model.uids, u) {
				missing++
			}
		}
		for _, u := range c.model.uids {
			if _, found := slices.BinarySearch(got, u); !found {
				extra++
			}
		}
		c.protoError(errFinalState, fmt.Sprintf("session holds %d messages, server %d: %d UIDs the session lacks, %d it still holds", len(c.model.uids), len(got), missing, extra))
	}
	return nil
}

func (c *stressClient) close() {
	if c.conn != nil {
		c.conn.Close()
	}
	c.mu.Lock()
	for k, n := range c.seen {
		c.res.seen[k] += n
	}
	if c.model != nil {
		c.res.redundant += c.model.redundant
		c.model.redundant = 0
	}
	c.mu.Unlock()
	clear(c.seen)
}
