package control

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"yubin/delivery"
	"yubin/storage"
)

// QueueControl is what the control socket needs from the queue
// (*delivery.Queue implements it).
type QueueControl interface {
	// List returns the queued messages with their pending recipients.
	List(ctx context.Context) ([]delivery.Entry, error)
	// Show returns one queued message; delivery.ErrNotQueued if unknown.
	Show(ctx context.Context, id delivery.ID) (delivery.Entry, error)
	// Retry schedules the message's pending recipients for an attempt
	// now; id "" retries every queued message.
	Retry(ctx context.Context, id delivery.ID) error
	// Delete removes the message from the queue without notice.
	Delete(ctx context.Context, id delivery.ID) error
	// Bounce fails the message's pending recipients now; the sender gets
	// a DSN (unless it is the null sender).
	Bounce(ctx context.Context, id delivery.ID) error
}

// Submitter takes a message handed over by a local process (sendmail):
// it completes the header (Message-ID, Date, From), signs it with DKIM
// and enqueues it for local and remote recipients. Errors are
// *delivery.Error where the refusal has an SMTP meaning.
type Submitter interface {
	Submit(ctx context.Context, from string, to []string, msg io.Reader) (delivery.ID, error)
}

// RouteResolver maps an address in a local domain to its final
// recipients (*storage.Store implements it): storage.ErrNotLocalDomain
// for other domains, storage.ErrNoSuchUser when nothing receives it.
type RouteResolver interface {
	Resolve(ctx context.Context, addr string) ([]storage.Target, error)
}

// Options configure a Server.
type Options struct {
	// Queue serves /v1/queue. Nil answers 503.
	Queue QueueControl
	// Submitter serves /v1/submit. Nil answers 503 "submission not
	// available".
	Submitter Submitter
	// Resolver serves /v1/resolve. Nil answers 503.
	Resolver RouteResolver
	// Logger receives one line per change made through the socket. Nil
	// discards.
	Logger *slog.Logger
	// Version and Hostname are reported by /v1/status; sendmail builds
	// its default sender from Hostname.
	Version, Hostname string
	// Listeners are reported by /v1/status.
	Listeners []Listener
	// MTASTSPolicyID is reported by /v1/status.
	MTASTSPolicyID string
	// Certificate returns the certificate the TLS listeners serve now,
	// for /v1/status; nil (or a nil func) reports none.
	Certificate func() *x509.Certificate
	// MaxMessageBytes bounds a submitted message (after CRLF conversion).
	// Default 25 MiB, as smtp.max_message_bytes.
	MaxMessageBytes int64
	// SubmitOnly makes the server of the submit socket: it serves
	// POST /v1/submit and a GET /v1/status with only the version and
	// hostname (sendmail's default sender domain); every other request
	// gets 403. Without it, the server (the control socket) answers only
	// root and the daemon's own user (SO_PEERCRED), whatever the socket's
	// mode.
	SubmitOnly bool
}

// maxEnvelopeLine bounds the JSON envelope line of /v1/submit.
const maxEnvelopeLine = 1 << 20

// Server answers control requests. Create it with NewServer.
type Server struct {
	opts    Options
	log     *slog.Logger
	started time.Time
	http    *http.Server
}

// NewServer returns a server for opts; Serve starts it.
func NewServer(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 25 << 20
	}
	s := &Server{opts: opts, log: opts.Logger, started: time.Now()}
	mux := http.NewServeMux()
	if opts.SubmitOnly {
		mux.HandleFunc("GET /v1/status", s.handleSubmitStatus)
		mux.HandleFunc("POST /v1/submit", s.handleSubmit)
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusForbidden, fmt.Errorf("the submit socket only accepts messages (POST /v1/submit), not %s %s", r.Method, r.URL.Path))
		})
	} else {
		s.controlRoutes(mux)
	}
	var handler http.Handler = mux
	if !opts.SubmitOnly {
		handler = adminOnly(mux)
	}
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, peerKey{}, peerUID(c))
		},
	}
	return s
}

// adminOnly refuses peers other than root and the daemon's own user: the
// control socket can delete queued mail and reveals routing.
func adminOnly(next http.Handler) http.Handler {
	self := os.Geteuid()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if uid, ok := r.Context().Value(peerKey{}).(int); ok && uid >= 0 && uid != 0 && uid != self {
			writeError(w, http.StatusForbidden, fmt.Errorf("the control socket is for root and the daemon's user (uid %d), not uid %d; sendmail uses the submit socket", self, uid))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handleSubmitStatus is the submit socket's status: what sendmail needs.
func (s *Server) handleSubmitStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Status{Version: s.opts.Version, Hostname: s.opts.Hostname})
}

// controlRoutes are the control socket's endpoints.
func (s *Server) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/status", s.handleStatus)
	mux.HandleFunc("GET /v1/queue", s.handleQueueList)
	mux.HandleFunc("GET /v1/queue/{id}", s.handleQueueShow)
	mux.HandleFunc("POST /v1/queue/retry", s.handleQueueRetryAll)
	mux.HandleFunc("POST /v1/queue/{id}/retry", s.queueAction("retried", func(q QueueControl) func(context.Context, delivery.ID) error { return q.Retry }))
	mux.HandleFunc("DELETE /v1/queue/{id}", s.queueAction("deleted", func(q QueueControl) func(context.Context, delivery.ID) error { return q.Delete }))
	mux.HandleFunc("POST /v1/queue/{id}/bounce", s.queueAction("bounced by operator", func(q QueueControl) func(context.Context, delivery.ID) error { return q.Bounce }))
	mux.HandleFunc("POST /v1/resolve", s.handleResolve)
	mux.HandleFunc("POST /v1/submit", s.handleSubmit)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

// Serve answers requests on l until Close; it returns nil after Close.
func (s *Server) Serve(l net.Listener) error {
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the server: it closes the listener (removing the socket
// file) and every connection.
func (s *Server) Close() error {
	return s.http.Close()
}

type peerKey struct{}

// logger returns the logger with the peer's uid, for changes.
func (s *Server) logger(r *http.Request) *slog.Logger {
	if uid, ok := r.Context().Value(peerKey{}).(int); ok && uid >= 0 {
		return s.log.With("peer_uid", uid)
	}
	return s.log
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, errorBody{Error: err.Error()})
}

var errUnavailable = errors.New("not available in this maild")

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st := Status{Version: s.opts.Version, Hostname: s.opts.Hostname, PID: os.Getpid(), Started: s.started.UTC(),
		GoVersion: runtime.Version(), Listeners: s.opts.Listeners, MTASTSPolicyID: s.opts.MTASTSPolicyID}
	if s.opts.Certificate != nil {
		if c := s.opts.Certificate(); c != nil {
			st.Certificate = &Certificate{Subject: c.Subject.String(), Issuer: c.Issuer.String(), DNSNames: c.DNSNames,
				NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(),
				SelfSigned: bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil}
		}
	}
	if s.opts.Queue != nil {
		entries, err := s.opts.Queue.List(r.Context())
		if err != nil {
			writeError(w, http.StatusInternalServerError, fmt.Errorf("list queue: %w", err))
			return
		}
		st.Messages = len(entries)
		for _, e := range entries {
			st.Recipients += len(e.Recipients)
			if st.OldestQueued.IsZero() || e.ReceivedAt.Before(st.OldestQueued) {
				st.OldestQueued = e.ReceivedAt.UTC()
			}
		}
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleQueueList(w http.ResponseWriter, r *http.Request) {
	if s.opts.Queue == nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("queue %w", errUnavailable))
		return
	}
	entries, err := s.opts.Queue.List(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("list queue: %w", err))
		return
	}
	out := make([]QueueEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, queueEntry(e))
	}
	writeJSON(w, http.StatusOK, out)
}

// queueID returns the request's {id}, or answers 400 (or 503 without a
// queue) and returns false.
func (s *Server) queueID(w http.ResponseWriter, r *http.Request) (delivery.ID, bool) {
	if s.opts.Queue == nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("queue %w", errUnavailable))
		return "", false
	}
	id := delivery.ID(r.PathValue("id"))
	if !id.Valid() {
		writeError(w, http.StatusBadRequest, fmt.Errorf("invalid queue id %q", string(id)))
		return "", false
	}
	return id, true
}

// queueError answers a queue operation's error: 404 for an id that is
// not queued, 500 otherwise.
func queueError(w http.ResponseWriter, id delivery.ID, err error) {
	if errors.Is(err, delivery.ErrNotQueued) {
		writeError(w, http.StatusNotFound, fmt.Errorf("message %s is not queued", id))
		return
	}
	writeError(w, http.StatusInternalServerError, fmt.Errorf("queue %s: %w", id, err))
}

func (s *Server) handleQueueShow(w http.ResponseWriter, r *http.Request) {
	id, ok := s.queueID(w, r)
	if !ok {
		return
	}
	e, err := s.opts.Queue.Show(r.Context(), id)
	if err != nil {
		queueError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, queueEntry(e))
}

// queueAction handles retry, delete and bounce of one message.
func (s *Server) queueAction(event string, op func(QueueControl) func(context.Context, delivery.ID) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.queueID(w, r)
		if !ok {
			return
		}
		if err := op(s.opts.Queue)(r.Context(), id); err != nil {
			queueError(w, id, err)
			return
		}
		s.logger(r).Info(event, "queue_id", string(id), "via", "control")
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) handleQueueRetryAll(w http.ResponseWriter, r *http.Request) {
	if s.opts.Queue == nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("queue %w", errUnavailable))
		return
	}
	if err := s.opts.Queue.Retry(r.Context(), ""); err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("retry queue: %w", err))
		return
	}
	s.logger(r).Info("retry all", "via", "control")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleResolve(w http.ResponseWriter, r *http.Request) {
	if s.opts.Resolver == nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("resolver %w", errUnavailable))
		return
	}
	var req ResolveRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("bad resolve request: %w", err))
		return
	}
	a, err := storage.ParseAddress(req.Address)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	route := Route{Address: a.String(), LocalDomain: true, Targets: []RouteTarget{}}
	targets, err := s.opts.Resolver.Resolve(r.Context(), a.String())
	switch {
	case errors.Is(err, storage.ErrNotLocalDomain):
		route.LocalDomain = false
		route.Targets = append(route.Targets, RouteTarget{Address: a.String()})
	case errors.Is(err, storage.ErrNoSuchUser):
		writeError(w, http.StatusNotFound, fmt.Errorf("%s: no such user or alias (mail to it is refused with 550 5.1.1)", a))
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	for _, t := range targets {
		route.Targets = append(route.Targets, RouteTarget{Address: t.Address.String(), Local: t.Local})
	}
	writeJSON(w, http.StatusOK, route)
}

// limitedReader returns errTooLarge once more than n bytes were read.
type limitedReader struct {
	r        io.Reader
	n        int64
	exceeded bool
}

var errTooLarge = errors.New("message too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		l.exceeded = true
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		l.exceeded = true
		return n, errTooLarge
	}
	return n, err
}

func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request) {
	if s.opts.Submitter == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("submission not available in this maild"))
		return
	}
	br := bufio.NewReaderSize(r.Body, 64<<10)
	line, err := readLine(br, maxEnvelopeLine)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("submit: envelope line: %w", err))
		return
	}
	var req SubmitRequest
	if err := json.Unmarshal(line, &req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("submit: envelope line: %w", err))
		return
	}
	if len(req.To) == 0 {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "submit: no recipients", Code: 554, Enhanced: "5.5.1"})
		return
	}
	msg := &limitedReader{r: storage.CRLFReader(br), n: s.opts.MaxMessageBytes}
	id, err := s.opts.Submitter.Submit(r.Context(), req.From, req.To, msg)
	if msg.exceeded || errors.Is(err, errTooLarge) {
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{
			Error: fmt.Sprintf("message exceeds the size limit of %d bytes", s.opts.MaxMessageBytes),
			Code:  552, Enhanced: "5.3.4"})
		return
	}
	if err != nil {
		de := delivery.AsError(err)
		status := http.StatusUnprocessableEntity
		if de.Temporary {
			status = http.StatusServiceUnavailable
		}
		s.logger(r).Warn("rejected", "proto", "sendmail", "from", req.From, "rcpts", len(req.To), "err", err)
		text := de.Public
		if de.Err != nil {
			text += ": " + de.Err.Error() // a local, trusted peer: give the detail
		}
		writeJSON(w, status, errorBody{Error: text, Code: de.Code,
			Enhanced: fmt.Sprintf("%d.%d.%d", de.Enhanced[0], de.Enhanced[1], de.Enhanced[2]), Temporary: de.Temporary})
		return
	}
	s.logger(r).Info("accepted", "proto", "sendmail", "queue_id", string(id), "from", req.From, "rcpts", len(req.To))
	writeJSON(w, http.StatusOK, SubmitResult{ID: string(id)})
}

// readLine reads one line ended by "\n" (not included), at most max bytes.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > max {
			return nil, fmt.Errorf("longer than %d bytes", max)
		}
		if err == nil {
			return []byte(strings.TrimRight(string(line), "\r\n")), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}
