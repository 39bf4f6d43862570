package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3"
)

// Sentinel errors. Functions wrap them with context; match with errors.Is.
var (
	ErrNotFound       = errors.New("not found")
	ErrExists         = errors.New("already exists")
	ErrNoSuchDomain   = errors.New("no such domain")
	ErrNoSuchUser     = errors.New("no such user")
	ErrNotLocalDomain = errors.New("not a local domain")
	ErrAuthFailed     = errors.New("authentication failed")
	ErrQuotaExceeded  = errors.New("quota exceeded")
	ErrDomainNotEmpty = errors.New("domain not empty")
)

// The data directory holds password hashes, DKIM private keys and every
// user's mail: it and everything in it are for the daemon's user alone
// (root aside). Local programs submit through maild's submit socket, not
// through these files.
const (
	dirMode  = 0o700
	fileMode = 0o600
)

// Options configures Open.
type Options struct {
	// Logger receives warnings about skipped alias targets, index
	// rebuilds and similar events. Nil discards them.
	Logger *slog.Logger
	// Postmaster is where Resolve sends postmaster@ of a local domain
	// that has no postmaster user or alias: a full address. "" sends it
	// to the domain's first user. See Resolve.
	Postmaster string
	// SnapshotMessages bounds the messages held in memory by the
	// mailbox snapshots that answer message-metadata reads (snapshot.go),
	// across the Store: the least recently read are dropped first. 0
	// means 1,000,000; negative disables snapshots (every read goes to
	// the index).
	SnapshotMessages int
}

// Store is the directory database plus the Maildir tree under one data
// directory. It is safe for concurrent use, and other processes (mailctl
// and maild) may use the same data directory at the same time.
type Store struct {
	dir      string
	mailRoot string
	db       *sql.DB
	log      *slog.Logger
	own      owner
	// postmaster is Options.Postmaster.
	postmaster string
	hostname   string // sanitised for Maildir unique names
	pid        int
	counter    atomic.Uint64

	mu       sync.Mutex
	accounts map[string]*Account // key: Address.String()
	closed   bool

	observer atomic.Pointer[Observer]

	snaps *snapshots // mailbox snapshots of every account (snapshot.go)
}

// Open opens (creating if needed) the data directory dataDir: it creates
// dataDir (0700) and dataDir/mail, opens dataDir/yubin.db (0600) and
// brings its schema up to date. A data directory or yubin.db left open to
// the group or others by an older version is closed to them.
func Open(dataDir string, opts Options) (*Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", dataDir, err)
	}
	if err := os.MkdirAll(abs, dirMode); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	own, err := ownerOf(abs)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := restrictMode(abs); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Store{
		dir:        abs,
		mailRoot:   filepath.Join(abs, "mail"),
		log:        logger,
		own:        own,
		postmaster: opts.Postmaster,
		hostname:   sanitizeHostname(),
		pid:        os.Getpid(),
		accounts:   make(map[string]*Account),
		snaps:      newSnapshots(opts.SnapshotMessages),
	}
	if err := own.mkdir(s.mailRoot); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	dbPath := filepath.Join(abs, "yubin.db")
	if err := own.touch(dbPath); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := restrictMode(dbPath); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db, err := openSQLite(dbPath, "FULL")
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.db = db
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %q: %w", dbPath, err)
	}
	// SQLite itself gives later -wal/-shm files the owner of the database
	// file when running as root; fix the ones that exist now.
	for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm"} {
		if err := own.fix(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			db.Close()
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	return s, nil
}

// openSQLite opens a database with the DSN parameters every Yubin
// database uses.
func openSQLite(path, synchronous string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_busy_timeout", "5000")
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", synchronous)
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %q: %w", path, err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %q: %w", path, err)
	}
	return db, nil
}

// Close closes the cached accounts and the database.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for k, a := range s.accounts {
		a.dropSnapshots()
		errs = append(errs, a.close())
		delete(s.accounts, k)
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// MailRoot returns dataDir/mail, the root of all Maildirs.
func (s *Store) MailRoot() string { return s.mailRoot }

// sanitizeHostname returns the host name in the form Maildir unique names
// use: '/' and ':' (and ',' which would confuse ",S=") escaped as octal.
func sanitizeHostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	r := strings.NewReplacer("/", `\057`, ":", `\072`, ",", `\054`)
	return r.Replace(h)
}

// owner makes files created by a root process (mailctl) belong to the
// owner of the data directory, so the daemon can still write them.
type owner struct {
	enabled  bool
	uid, gid int
}

func ownerOf(dataDir string) (owner, error) {
	if os.Geteuid() != 0 {
		return owner{}, nil
	}
	fi, err := os.Stat(dataDir)
	if err != nil {
		return owner{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return owner{}, nil
	}
	return owner{enabled: true, uid: int(st.Uid), gid: int(st.Gid)}, nil
}

// fix chowns path to the data directory's owner when needed.
func (o owner) fix(path string) error {
	if !o.enabled {
		return nil
	}
	if err := os.Lchown(path, o.uid, o.gid); err != nil {
		return fmt.Errorf("chown %q: %w", path, err)
	}
	return nil
}

// restrictMode takes the group's and others' permissions off path when
// it has any. Only the owner (or root) may: a data directory that belongs
// to someone else is left as it is.
func restrictMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, fi.Mode().Perm()&^0o077); err != nil && !errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("restrict mode of %q: %w", path, err)
	}
	return nil
}

// mkdir creates path (0700) and any missing parents, chowning each
// directory it creates. An existing directory is left alone.
func (o owner) mkdir(path string) error {
	fi, err := os.Stat(path)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("mkdir %q: not a directory", path)
		}
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if parent := filepath.Dir(path); parent != path {
		if err := o.mkdir(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(path, dirMode); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil
		}
		return err
	}
	return o.fix(path)
}

// touch creates an empty file (0600) if it does not exist and chowns it.
func (o owner) touch(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return o.fix(path)
}

// syncDir fsyncs a directory so renames and unlinks in it are durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %q: %w", dir, err)
	}
	return nil
}

// ctxReader fails reads once ctx is done, so a cancelled delivery stops
// streaming.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
