package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/foxcpp/go-sieve"
	"github.com/foxcpp/go-sieve/lexer"
	"github.com/foxcpp/go-sieve/parser"
)

// rulesSchema is migration 4: per-user Sieve scripts, vacation settings
// and the last vacation reply sent to each sender. All rows go with the
// user.
const rulesSchema = `
CREATE TABLE sieve_scripts (
	local   TEXT NOT NULL,
	domain  TEXT NOT NULL,
	script  TEXT NOT NULL,             -- RFC 5228, parsed at save time
	updated INTEGER NOT NULL,          -- unix seconds
	PRIMARY KEY (local, domain),
	FOREIGN KEY (local, domain) REFERENCES users(local, domain) ON DELETE CASCADE
);
CREATE TABLE vacations (
	local   TEXT NOT NULL,
	domain  TEXT NOT NULL,
	subject TEXT NOT NULL,
	message TEXT NOT NULL,
	until   INTEGER NOT NULL DEFAULT 0, -- unix seconds; 0 = no end
	days    INTEGER NOT NULL,           -- at most one reply per sender per days
	created INTEGER NOT NULL,
	PRIMARY KEY (local, domain),
	FOREIGN KEY (local, domain) REFERENCES users(local, domain) ON DELETE CASCADE
);
CREATE TABLE vacation_replies (
	local   TEXT NOT NULL,
	domain  TEXT NOT NULL,
	sender  TEXT NOT NULL,              -- lower-cased envelope sender
	sent    INTEGER NOT NULL,           -- unix seconds
	PRIMARY KEY (local, domain, sender),
	FOREIGN KEY (local, domain) REFERENCES users(local, domain) ON DELETE CASCADE
);
`

// MaxSieveScript bounds a stored Sieve script.
const MaxSieveScript = 64 << 10

// SieveOptions are the limits scripts are parsed and run with.
func SieveOptions() sieve.Options { return sieve.DefaultOptions() }

// ParseSieve parses and loads a Sieve script (RFC 5228 with fileinto,
// imap4flags, envelope, variables, relational).
func ParseSieve(script string) (*sieve.Script, error) {
	if len(script) > MaxSieveScript {
		return nil, fmt.Errorf("sieve script of %d bytes: at most %d", len(script), MaxSieveScript)
	}
	s, err := sieve.Load(strings.NewReader(script), SieveOptions())
	if err != nil {
		return nil, fmt.Errorf("sieve script: %w", err)
	}
	return s, nil
}

// CheckSieveMailboxes parses script and checks the folder name of every
// fileinto (RFC 5228 §4.1) the way a mailbox is named for storage
// (ValidMailboxName: "/" separates levels, no "."). A name built from
// variables ("${...}") is known only at delivery and is not checked
// here; the MDA files mail for an invalid name into INBOX.
func CheckSieveMailboxes(script string) error {
	opts := SieveOptions()
	toks, err := lexer.Lex(strings.NewReader(script), &opts.Lexer)
	if err != nil {
		return fmt.Errorf("sieve script: %w", err)
	}
	cmds, err := parser.Parse(lexer.NewStream(toks), &opts.Parser)
	if err != nil {
		return fmt.Errorf("sieve script: %w", err)
	}
	return checkFileinto(cmds)
}

func checkFileinto(cmds []parser.Cmd) error {
	for _, c := range cmds {
		if strings.EqualFold(c.Id, "fileinto") && len(c.Args) > 0 {
			// Tagged arguments come first; the mailbox is the last.
			var names []string
			switch a := c.Args[len(c.Args)-1].(type) {
			case parser.StringArg:
				names = []string{a.Value}
			case parser.StringListArg:
				names = a.Value
			}
			for _, n := range names {
				if strings.Contains(n, "${") {
					continue
				}
				if _, err := ValidMailboxName(n); err != nil {
					line, _ := c.LineCol()
					return fmt.Errorf("sieve script line %d: fileinto %q: %w", line, n, err)
				}
			}
		}
		if err := checkFileinto(c.Block); err != nil {
			return err
		}
	}
	return nil
}

// existingUser parses addr and checks the user exists.
func (s *Store) existingUser(ctx context.Context, addr string) (Address, error) {
	a, err := ParseAddress(addr)
	if err != nil {
		return Address{}, fmt.Errorf("%w: %w", err, ErrNoSuchUser)
	}
	if _, err := s.user(ctx, a); err != nil {
		return Address{}, err
	}
	return a, nil
}

// SetSieve stores user's Sieve script, replacing any previous one. The
// script is parsed first: a script that does not load, or that files
// into a folder name storage cannot hold (CheckSieveMailboxes), is
// refused.
func (s *Store) SetSieve(ctx context.Context, user, script string) error {
	if _, err := ParseSieve(script); err != nil {
		return err
	}
	if err := CheckSieveMailboxes(script); err != nil {
		return err
	}
	a, err := s.existingUser(ctx, user)
	if err != nil {
		return fmt.Errorf("set sieve script: %w", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO sieve_scripts (local, domain, script, updated) VALUES (?, ?, ?, ?)
		ON CONFLICT (local, domain) DO UPDATE SET script = excluded.script, updated = excluded.updated`,
		a.Local, a.Domain, script, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("set sieve script of %q: %w", a, err)
	}
	return nil
}

// Sieve returns user's Sieve script. ErrNotFound if there is none.
func (s *Store) Sieve(ctx context.Context, user string) (string, error) {
	a, err := ParseAddress(user)
	if err != nil {
		return "", fmt.Errorf("sieve script: %w: %w", err, ErrNotFound)
	}
	var script string
	err = s.db.QueryRowContext(ctx, `SELECT script FROM sieve_scripts WHERE local = ? AND domain = ?`, a.Local, a.Domain).Scan(&script)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("sieve script of %q: %w", a, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sieve script of %q: %w", a, err)
	}
	return script, nil
}

// RemoveSieve deletes user's Sieve script. ErrNotFound if there is none.
func (s *Store) RemoveSieve(ctx context.Context, user string) error {
	a, err := ParseAddress(user)
	if err != nil {
		return fmt.Errorf("remove sieve script: %w: %w", err, ErrNotFound)
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM sieve_scripts WHERE local = ? AND domain = ?`, a.Local, a.Domain)
	if err != nil {
		return fmt.Errorf("remove sieve script of %q: %w", a, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sieve script of %q: %w", a, ErrNotFound)
	}
	return nil
}

// Vacation is a user's out-of-office auto-reply (RFC 5230 semantics).
type Vacation struct {
	Subject string
	Message string
	// Until is when replies stop; zero means no end.
	Until time.Time
	// Days is the minimum interval between two replies to one sender.
	Days    int
	Created time.Time
}

// DefaultVacationDays is RFC 5230's default :days.
const DefaultVacationDays = 7

// Active reports whether v replies at time now.
func (v Vacation) Active(now time.Time) bool {
	return v.Until.IsZero() || now.Before(v.Until)
}

// SetVacation turns user's vacation reply on (or replaces it).
func (s *Store) SetVacation(ctx context.Context, user string, v Vacation) error {
	if strings.TrimSpace(v.Message) == "" {
		return errors.New("set vacation: empty message")
	}
	if strings.ContainsAny(v.Subject, "\r\n") {
		return errors.New("set vacation: subject has a line break")
	}
	if v.Days <= 0 {
		v.Days = DefaultVacationDays
	}
	if v.Days > 365 {
		return fmt.Errorf("set vacation: %d days: at most 365", v.Days)
	}
	a, err := s.existingUser(ctx, user)
	if err != nil {
		return fmt.Errorf("set vacation: %w", err)
	}
	var until int64
	if !v.Until.IsZero() {
		until = v.Until.Unix()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO vacations (local, domain, subject, message, until, days, created) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (local, domain) DO UPDATE SET subject = excluded.subject, message = excluded.message,
		until = excluded.until, days = excluded.days, created = excluded.created`,
		a.Local, a.Domain, v.Subject, v.Message, until, v.Days, time.Now().Unix()); err != nil {
		return fmt.Errorf("set vacation of %q: %w", a, err)
	}
	// A new vacation message starts a new reply history (RFC 5230 §4.2:
	// a changed reason may be sent again).
	if _, err := tx.ExecContext(ctx, `DELETE FROM vacation_replies WHERE local = ? AND domain = ?`, a.Local, a.Domain); err != nil {
		return fmt.Errorf("set vacation of %q: %w", a, err)
	}
	return tx.Commit()
}

// Vacation returns user's vacation setting. ErrNotFound if it is off.
func (s *Store) Vacation(ctx context.Context, user string) (Vacation, error) {
	a, err := ParseAddress(user)
	if err != nil {
		return Vacation{}, fmt.Errorf("vacation: %w: %w", err, ErrNotFound)
	}
	var v Vacation
	var until, created int64
	err = s.db.QueryRowContext(ctx, `SELECT subject, message, until, days, created FROM vacations WHERE local = ? AND domain = ?`,
		a.Local, a.Domain).Scan(&v.Subject, &v.Message, &until, &v.Days, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Vacation{}, fmt.Errorf("vacation of %q: %w", a, ErrNotFound)
	}
	if err != nil {
		return Vacation{}, fmt.Errorf("vacation of %q: %w", a, err)
	}
	if until != 0 {
		v.Until = time.Unix(until, 0).UTC()
	}
	v.Created = time.Unix(created, 0).UTC()
	return v, nil
}

// RemoveVacation turns user's vacation reply off. ErrNotFound if it was
// not on.
func (s *Store) RemoveVacation(ctx context.Context, user string) error {
	a, err := ParseAddress(user)
	if err != nil {
		return fmt.Errorf("vacation off: %w: %w", err, ErrNotFound)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM vacations WHERE local = ? AND domain = ?`, a.Local, a.Domain)
	if err != nil {
		return fmt.Errorf("vacation off for %q: %w", a, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("vacation of %q: %w", a, ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM vacation_replies WHERE local = ? AND domain = ?`, a.Local, a.Domain); err != nil {
		return fmt.Errorf("vacation off for %q: %w", a, err)
	}
	return tx.Commit()
}

// ClaimVacationReply records a vacation reply from user to sender at now
// and reports true, unless one was recorded less than days ago (then
// false, and nothing changes). Check and record are one statement, so
// concurrent deliveries send at most one reply.
func (s *Store) ClaimVacationReply(ctx context.Context, user, sender string, days int, now time.Time) (bool, error) {
	a, err := ParseAddress(user)
	if err != nil {
		return false, fmt.Errorf("vacation reply: %w", err)
	}
	if days <= 0 {
		days = DefaultVacationDays
	}
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour).Unix()
	res, err := s.db.ExecContext(ctx, `INSERT INTO vacation_replies (local, domain, sender, sent) VALUES (?, ?, ?, ?)
		ON CONFLICT (local, domain, sender) DO UPDATE SET sent = excluded.sent WHERE vacation_replies.sent <= ?`,
		a.Local, a.Domain, strings.ToLower(sender), now.Unix(), cutoff)
	if err != nil {
		return false, fmt.Errorf("vacation reply of %q to %q: %w", a, sender, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
