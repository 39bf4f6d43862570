package delivery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3" // queue.db
)

// LocalDeliverer takes the recipients in local domains: the MDA.
type LocalDeliverer interface {
	// Accepts reports whether rcpt is in a local domain.
	Accepts(ctx context.Context, rcpt string) (bool, error)
	// Deliver delivers m to rcpt. It returns the remote addresses rcpt
	// expanded to (alias targets elsewhere), which the queue adds as new
	// recipients of m. Errors are *Error (see AsError). Before each
	// delivery to a mailbox it calls m.Delivered, and after it
	// m.MarkDelivered, so that a retry skips what was delivered.
	Deliver(ctx context.Context, m *Spooled, rcpt string) (remote []string, err error)
}

// Prefixer is an optional LocalDeliverer method: the header its delivery
// of env would put before the message, when that is known at acceptance
// (one recipient, one local mailbox owner), else "". The queue then
// writes it at the start of the spool file, so the delivery can link
// that file into the Maildir instead of copying it (SpoolReader.LinkSource);
// every other reader of the spool file skips it.
type Prefixer interface {
	DeliveryPrefix(ctx context.Context, env Envelope) string
}

// RemoteDeliverer takes recipients in other domains. The queue hands it
// all due recipients of one message in one domain at once, so that they
// share one SMTP transaction.
//
// Deliver returns one outcome per recipient: nil when the recipient was
// delivered (the remote host took responsibility), else an error that
// AsError classifies (a *Error, with Remote set when it quotes a remote
// reply). A recipient missing from the map is retried later. If the
// deliverer also implements io.Closer, Queue.Close closes it.
type RemoteDeliverer interface {
	Deliver(ctx context.Context, m *Spooled, domain string, rcpts []string) map[string]error
}

// Options configure a Queue.
type Options struct {
	// Dir holds the spool and queue.db (data_dir/queue). Created if missing.
	Dir string
	// Local delivers to local domains. Required.
	Local LocalDeliverer
	// Remote delivers elsewhere. Nil defers such recipients (retried until
	// MaxAge) with a clear error.
	Remote RemoteDeliverer
	// Logger receives queued/delivered/deferred/bounced events.
	Logger *slog.Logger
	// Workers is the number of messages processed at once (default 16).
	Workers int
	// RetryMin is the first retry delay (default 1m); it doubles per attempt
	// up to RetryMax (default 1h).
	RetryMin, RetryMax time.Duration
	// MaxAge is how long a recipient is retried before it fails (default 5 days).
	MaxAge time.Duration
	// DelayNotice is how long a message waits before its sender gets one
	// delay notice (a DSN with Action: delayed) listing the recipients
	// still deferred (default 4h; negative: never).
	DelayNotice time.Duration
	// Hostname names this MTA in DSNs (Reporting-MTA, From:
	// MAILER-DAEMON@Hostname). Default "localhost".
	Hostname string
	// CommitBatch is the most writes (Enqueue records, settlements of
	// delivery attempts) one group commit holds (default 256); CommitWait
	// is how long the committer lingers for more once one is waiting
	// (default 0: a batch is whatever arrived while the previous one was
	// being written).
	CommitBatch int
	CommitWait  time.Duration
	// Settled, if set, is called after a message has left the queue
	// (every recipient delivered or failed). For metrics and tests.
	Settled func(ID)
}

// Queue is the durable message queue. Safe for concurrent use.
type Queue struct {
	opts     Options
	log      *slog.Logger
	db       *sql.DB
	tmpDir   string
	spoolDir string
	recycled recycler // emptied spool files for reuse, in tmpDir
	sched    *scheduler
	locks    *msgLocks
	gc       *committer
	wg       sync.WaitGroup
	closed   chan struct{}
	once     sync.Once
}

// Open opens (or creates) the queue in opts.Dir, cleans up what a crash left
// behind and schedules every pending recipient. Workers start at once.
func Open(opts Options) (*Queue, error) {
	if opts.Local == nil {
		return nil, errors.New("delivery: Options.Local is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = time.Minute
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(time.Hour, opts.RetryMin)
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 5 * 24 * time.Hour
	}
	if opts.DelayNotice == 0 {
		opts.DelayNotice = 4 * time.Hour
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.CommitBatch <= 0 {
		opts.CommitBatch = 256
	}
	q := &Queue{
		opts:     opts,
		log:      opts.Logger,
		tmpDir:   filepath.Join(opts.Dir, "tmp"),
		spoolDir: filepath.Join(opts.Dir, "spool"),
		closed:   make(chan struct{}),
		locks:    newMsgLocks(),
		gc:       newCommitter(opts.CommitBatch, opts.CommitWait),
	}
	for _, d := range []string{opts.Dir, q.tmpDir, q.spoolDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create queue dir: %w", err)
		}
	}
	// queue.db and its WAL (which SQLite creates with the database's
	// mode) hold envelopes: the daemon's user's alone, whatever the umask.
	if f, err := os.OpenFile(filepath.Join(opts.Dir, "queue.db"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	}
	db, err := openDB(filepath.Join(opts.Dir, "queue.db"))
	if err != nil {
		return nil, err
	}
	q.db = db
	pending, err := q.recover()
	if err != nil {
		db.Close()
		return nil, err
	}
	go q.commitLoop()
	q.sched = newScheduler(opts.Workers * 4)
	for id, at := range pending {
		q.sched.add(id, at)
	}
	q.wg.Add(1)
	go func() { defer q.wg.Done(); q.sched.run(q.closed) }()
	for range opts.Workers {
		q.wg.Add(1)
		go func() { defer q.wg.Done(); q.work() }()
	}
	return q, nil
}

// Close stops the workers after the messages they are delivering, then the
// committer, and closes the queue database. Pending mail stays queued for
// the next Open; an Enqueue after Close fails.
func (q *Queue) Close() error {
	q.once.Do(func() {
		close(q.closed)
		q.wg.Wait() // workers may still enqueue DSNs
		close(q.gc.stop)
	})
	<-q.gc.stopped
	if c, ok := q.opts.Remote.(io.Closer); ok {
		c.Close()
	}
	return q.db.Close()
}

// Enqueue writes msg durably and records env; it returns only when both are
// on disk, and then schedules delivery. env.ID is used when set.
// Concurrent calls share the spool directory fsync and the queue.db
// commit (group commit, see groupcommit.go).
func (q *Queue) Enqueue(ctx context.Context, env Envelope, msg io.Reader) (ID, error) {
	if len(env.To) == 0 {
		return "", errors.New("delivery: envelope has no recipients")
	}
	if env.ID == "" {
		env.ID = NewID()
	}
	if !env.ID.Valid() {
		return "", fmt.Errorf("delivery: invalid queue id %q", env.ID)
	}
	if env.ReceivedAt.IsZero() {
		env.ReceivedAt = time.Now()
	}
	var prefix string
	if p, ok := q.opts.Local.(Prefixer); ok {
		prefix = p.DeliveryPrefix(ctx, env)
	}
	total, err := q.spool(env.ID, io.MultiReader(strings.NewReader(prefix), msg))
	if err != nil {
		return "", err
	}
	size := total - int64(len(prefix))
	if err := q.commit(ctx, env, size, int64(len(prefix))); err != nil {
		q.removeSpool(env.ID)
		return "", AsError(fmt.Errorf("record message: %w", err))
	}
	q.log.Info("queued", "queue_id", env.ID, "from", env.From, "rcpts", len(env.To), "size", size)
	q.sched.add(env.ID, time.Now())
	return env.ID, nil
}

// spool streams msg into tmp/, fsyncs it and renames it into spool/. The
// directory fsync that makes the rename durable is the committer's, once
// per batch, before the record is committed.
func (q *Queue) spool(id ID, msg io.Reader) (int64, error) {
	tmp, f, err := q.recycled.take(q.tmpDir)
	if f == nil {
		tmp = filepath.Join(q.tmpDir, string(id))
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err != nil {
		return 0, AsError(fmt.Errorf("create spool file: %w", err))
	}
	buf := make([]byte, 64<<10)
	size, err := io.CopyBuffer(f, msg, buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(q.spoolDir, string(id)))
	}
	if err != nil {
		os.Remove(tmp)
		q.removeSpool(id)
		// A reader error (size limit, dropped client) keeps its own
		// classification; disk errors become temporary failures.
		return 0, AsError(fmt.Errorf("spool message %s: %w", id, err))
	}
	return size, nil
}

func (q *Queue) removeSpool(id ID) {
	p := filepath.Join(q.spoolDir, string(id))
	if q.recycled.put(p, q.tmpDir) {
		return
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		q.log.Error("remove spool file", "queue_id", id, "err", err)
	}
}

// open returns the spool file of id.
func (q *Queue) open(id ID) (*os.File, error) {
	return os.Open(filepath.Join(q.spoolDir, string(id)))
}

// recover removes what an interrupted Enqueue left behind and returns the
// earliest next attempt of every message with pending recipients.
func (q *Queue) recover() (map[ID]time.Time, error) {
	if ents, err := os.ReadDir(q.tmpDir); err == nil {
		for _, e := range ents {
			p := filepath.Join(q.tmpDir, e.Name())
			if isFreeName(e.Name()) && e.Type().IsRegular() && q.recycled.adopt(p) {
				continue
			}
			os.Remove(p)
		}
	}
	pending, err := q.pendingMessages()
	if err != nil {
		return nil, err
	}
	known, err := q.messageIDs()
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(q.spoolDir)
	if err != nil {
		return nil, fmt.Errorf("read spool: %w", err)
	}
	onDisk := make(map[ID]bool, len(ents))
	for _, e := range ents {
		id := ID(e.Name())
		onDisk[id] = true
		if !known[id] {
			// Spooled but never recorded: the client got no 250.
			q.log.Warn("removing unacknowledged spool file", "queue_id", id)
			os.Remove(filepath.Join(q.spoolDir, e.Name()))
		}
	}
	for id := range known {
		switch {
		case !onDisk[id]:
			q.log.Error("queue record without spool file; dropping it", "queue_id", id)
			if err := q.deleteMessage(id); err != nil {
				return nil, err
			}
			delete(pending, id)
		case !hasPending(pending, id):
			// Every recipient settled, but the removal did not happen
			// (a crash or a full disk): finish it now.
			if err := q.deleteMessage(id); err != nil {
				return nil, err
			}
			os.Remove(filepath.Join(q.spoolDir, string(id)))
			q.log.Info("removed settled message left from an earlier run", "queue_id", id)
		}
	}
	if len(pending) > 0 {
		q.log.Info("rescheduling queued messages", "count", len(pending))
	}
	return pending, nil
}

func hasPending(pending map[ID]time.Time, id ID) bool {
	_, ok := pending[id]
	return ok
}

// Spooled is one queued message as a deliverer sees it. Delivered and
// MarkDelivered are for the worker that holds the message (one goroutine);
// Open may be called from any.
type Spooled struct {
	ID       ID
	Envelope Envelope
	Size     int64
	q        *Queue
	// delayNotified: the sender already got the delay notice.
	delayNotified bool
	// prefix is the length of the delivery header the spool file starts
	// with (see Prefixer); Size does not count it.
	prefix int64
	// marked holds the targets delivered in this attempt; unsynced those
	// of them not yet written to queue.db (see MarkDelivered).
	marked   map[string]bool
	unsynced []string
}

// Open returns the message bytes exactly as spooled (without the
// delivery prefix, if the queue wrote one).
func (m *Spooled) Open() (*SpoolReader, error) {
	f, err := m.q.open(m.ID)
	if err != nil {
		return nil, err
	}
	return &SpoolReader{io.NewSectionReader(f, m.prefix, m.Size), f}, nil
}

// SpoolReader reads a spooled message.
type SpoolReader struct {
	*io.SectionReader
	f *os.File
}

func (r *SpoolReader) Close() error { return r.f.Close() }

// LinkSource returns the spool file's path and the delivery header it
// starts with ("" if none; see Prefixer). The file is complete and
// fsynced and never changes while it has other links: a delivery whose
// header is exactly prefix may hard-link it into a Maildir.
func (r *SpoolReader) LinkSource() (path, prefix string, err error) {
	_, off, _ := r.Outer() // ReadAt below leaves the reader where it is
	if off == 0 {
		return "", "", nil
	}
	b := make([]byte, off)
	if _, err := r.f.ReadAt(b, 0); err != nil {
		return "", "", err
	}
	return r.f.Name(), string(b), nil
}

// Delivered reports whether target already got this message (an earlier
// attempt, or another recipient that expanded to the same mailbox). A
// LocalDeliverer calls it before each delivery: it first makes the
// earlier marks durable, so a crash during that delivery cannot repeat
// them.
func (m *Spooled) Delivered(ctx context.Context, target string) (bool, error) {
	if m.marked[target] {
		return true, nil
	}
	if err := m.syncMarks(ctx); err != nil {
		return false, err
	}
	return m.q.isDelivered(ctx, m.ID, target)
}

// MarkDelivered records that target got this message, so that a retry
// does not deliver it again. The record is not written at once but
// before anything else is done with the message: before its next
// delivery (Delivered), remote delivery, a vacation reply or a DSN; or
// else in the transaction that settles the attempt.
//
// Why no mail can be lost: until the record or that transaction commits,
// the recipient is still pending in queue.db and the spool file is kept,
// so a crash makes the message be delivered again, never dropped. And no
// new duplicates: as when the record was written at once, a crash
// repeats the delivery only between the Maildir rename and the next
// commit (a group commit, so up to about two batches away), with nothing
// delivered or sent in between. When the attempt settles every recipient
// (one local recipient delivered at the first try), that transaction
// deletes the message, so the record is never written at all.
func (m *Spooled) MarkDelivered(ctx context.Context, target string) error {
	if m.marked == nil {
		m.marked = map[string]bool{}
	}
	if !m.marked[target] {
		m.marked[target] = true
		m.unsynced = append(m.unsynced, target)
	}
	return nil
}

// syncMarks writes the unsynced marks, sharing a commit with other writes.
func (m *Spooled) syncMarks(ctx context.Context) error {
	if len(m.unsynced) == 0 {
		return nil
	}
	marks := m.unsynced
	err := m.q.groupWrite(ctx, false, func(ctx context.Context, tx *sql.Tx) error {
		return insertMarks(ctx, tx, m.ID, marks)
	})
	if err != nil {
		return fmt.Errorf("record delivered targets: %w", err)
	}
	m.unsynced = nil
	return nil
}

// work processes scheduled messages until Close.
func (q *Queue) work() {
	for {
		select {
		case <-q.closed:
			return
		case id := <-q.sched.ready:
			q.process(id)
		}
	}
}

// process attempts every due recipient of one message, then reschedules it
// or removes it when nothing is pending. One worker at a time holds a
// message; a second scheduling of it while held runs once more after.
func (q *Queue) process(id ID) {
	for q.locks.tryLock(id) {
		q.processLocked(id)
		if !q.locks.unlock(id) {
			return
		}
	}
}

func (q *Queue) processLocked(id ID) {
	// Deliveries run to completion even during Close: an interrupted
	// Maildir write would only be retried.
	ctx := context.Background()
	m, rcpts, err := q.load(ctx, id)
	if err != nil {
		q.log.Error("load queued message", "queue_id", id, "err", err)
		q.sched.add(id, time.Now().Add(q.opts.RetryMin))
		return
	}
	if m == nil {
		return // already settled
	}
	now := time.Now()
	var outcomes []outcome
	var adds []string
	remote := map[string][]pendingRcpt{} // by domain
	for _, r := range rcpts {
		if r.next.After(now) {
			continue
		}
		local, err := q.opts.Local.Accepts(ctx, r.rcpt)
		switch {
		case err != nil:
			outcomes = append(outcomes, outcome{r, AsError(err)})
		case local:
			more, err := q.opts.Local.Deliver(ctx, m, r.rcpt)
			if len(more) > 0 {
				q.log.Info("expanded to remote recipients", "queue_id", m.ID, "rcpt", r.rcpt, "targets", more)
				adds = append(adds, more...)
			}
			outcomes = append(outcomes, outcome{r, AsError(err)})
		default:
			d := domainOf(r.rcpt)
			remote[d] = append(remote[d], r)
		}
	}
	if len(remote) > 0 {
		// Remote delivery can take minutes: what was delivered locally is
		// recorded first (see MarkDelivered).
		if err := m.syncMarks(ctx); err != nil {
			q.log.Error("record local deliveries", "queue_id", id, "err", err)
		}
	}
	outcomes = append(outcomes, q.deliverRemote(ctx, m, remote)...)
	s := q.record(ctx, m, outcomes)
	s.adds = adds
	q.finish(ctx, m, s)
}

// outcome is one recipient's result of an attempt: nil is delivered.
type outcome struct {
	r   pendingRcpt
	err *Error
}

// deliverRemote hands each domain's recipients to the remote deliverer,
// the domains in parallel (each bounded by the deliverer's own limits).
func (q *Queue) deliverRemote(ctx context.Context, m *Spooled, byDomain map[string][]pendingRcpt) []outcome {
	var out []outcome
	if q.opts.Remote == nil {
		for _, rs := range byDomain {
			for _, r := range rs {
				out = append(out, outcome{r, Temporaryf([3]int{4, 4, 0}, "Remote delivery is not configured", nil)})
			}
		}
		return out
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for domain, rs := range byDomain {
		wg.Go(func() {
			addrs := make([]string, len(rs))
			for i, r := range rs {
				addrs[i] = r.rcpt
			}
			res := q.opts.Remote.Deliver(ctx, m, domain, addrs)
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rs {
				err, ok := res[r.rcpt]
				if !ok {
					err = Temporaryf([3]int{4, 4, 0}, "No outcome from remote delivery", nil)
				}
				out = append(out, outcome{r, AsError(err)})
			}
		})
	}
	wg.Wait()
	return out
}

// record turns the outcomes of one attempt into a settlement: delivered,
// deferred with backoff, or failed. Recipients that failed in this attempt
// get one DSN between them, enqueued before the settlement that marks
// them failed is written (a crash in between can only repeat the DSN); if
// it cannot be enqueued they stay pending and the failure is retried. The
// first attempt that finds recipients still deferred after DelayNotice
// sends the delay notice.
func (q *Queue) record(ctx context.Context, m *Spooled, outcomes []outcome) settlement {
	var s settlement
	age := time.Since(m.Envelope.ReceivedAt)
	var failed, deferred []dsnRecipient
	var failedOut []outcome
	for _, o := range outcomes {
		if o.err == nil {
			s.updates = append(s.updates, rcptUpdate{rcpt: o.r.rcpt, state: stateDelivered})
			continue
		}
		if o.err.Temporary && age < q.opts.MaxAge {
			delay := q.backoff(o.r.attempts + 1)
			s.updates = append(s.updates, rcptUpdate{rcpt: o.r.rcpt, state: statePending, lastErr: o.err.Error(), next: time.Now().Add(delay)})
			s.logs = append(s.logs, func() {
				q.log.Warn("deferred", "queue_id", m.ID, "rcpt", o.r.rcpt, "attempt", o.r.attempts+1, "retry_in", delay, "remote", o.err.Remote, "err", o.err.Error())
			})
			deferred = append(deferred, dsnRecipient{Addr: o.r.rcpt, Err: o.err})
			continue
		}
		failed = append(failed, dsnRecipient{Addr: o.r.rcpt, Err: o.err, Expired: o.err.Temporary})
		failedOut = append(failedOut, o)
	}
	if len(failed) > 0 {
		if err := q.sendDSN(ctx, m, actionFailed, failed); err != nil {
			q.log.Error("enqueue DSN; failures stay queued", "queue_id", m.ID, "err", err)
			for _, o := range failedOut {
				s.updates = append(s.updates, rcptUpdate{rcpt: o.r.rcpt, state: statePending, lastErr: o.err.Error(), next: time.Now().Add(q.opts.RetryMin)})
			}
			failedOut = nil
		}
	}
	for _, o := range failedOut {
		s.updates = append(s.updates, rcptUpdate{rcpt: o.r.rcpt, state: stateFailed, lastErr: o.err.Error()})
		s.logs = append(s.logs, func() {
			q.log.Error("bounced", "queue_id", m.ID, "rcpt", o.r.rcpt, "from", m.Envelope.From, "age", age.Round(time.Second), "remote", o.err.Remote, "err", o.err.Error())
		})
	}
	if len(deferred) > 0 && !m.delayNotified && q.opts.DelayNotice > 0 && age >= q.opts.DelayNotice {
		if err := q.sendDSN(ctx, m, actionDelayed, deferred); err != nil {
			q.log.Error("enqueue delay notice", "queue_id", m.ID, "err", err)
		} else {
			s.delayNotified = true
		}
	}
	return s
}

// finish writes the settlement of an attempt on m in one transaction,
// shared with other workers and Enqueue calls (group commit). Then it
// reschedules m at its earliest pending recipient or, when none is left
// and the transaction has deleted its record, removes its spool file.
//
// If the transaction fails (a full disk), nothing of the attempt is
// recorded and every recipient is still pending: the message is tried
// again later, so neither the record nor the spool file is left behind
// for good. Targets delivered in this attempt may then get the message
// twice, and a DSN may be repeated; nothing is lost.
func (q *Queue) finish(ctx context.Context, m *Spooled, s settlement) {
	s.id, s.marks = m.ID, m.unsynced
	var next time.Time
	var pending bool
	err := q.groupWrite(ctx, false, func(ctx context.Context, tx *sql.Tx) (err error) {
		next, pending, err = writeSettlement(ctx, tx, &s)
		return err
	})
	if err != nil {
		q.log.Error("record delivery attempt; will retry", "queue_id", m.ID, "err", err)
		q.sched.add(m.ID, time.Now().Add(q.opts.RetryMin))
		return
	}
	for _, log := range s.logs {
		log()
	}
	if pending {
		q.sched.add(m.ID, next)
	} else {
		q.removed(m.ID)
	}
}

// remove drops a message's record and spool file. If the record cannot be
// deleted (a full disk), the message is tried again later, so neither the
// record nor the spool file is left behind for good.
func (q *Queue) remove(id ID) {
	if err := q.deleteMessage(id); err != nil {
		q.log.Error("remove settled message; will retry", "queue_id", id, "err", err)
		q.sched.add(id, time.Now().Add(q.opts.RetryMin))
		return
	}
	q.removed(id)
}

// removed finishes the removal of id once its record is gone.
func (q *Queue) removed(id ID) {
	q.removeSpool(id)
	q.log.Debug("removed from queue", "queue_id", id)
	if q.opts.Settled != nil {
		q.opts.Settled(id)
	}
}

func (q *Queue) backoff(attempt int) time.Duration {
	d := q.opts.RetryMin
	for i := 1; i < attempt && d < q.opts.RetryMax; i++ {
		d *= 2
	}
	return min(d, q.opts.RetryMax)
}

// remoteAddr formats a client address for queue.db.
func remoteAddr(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
