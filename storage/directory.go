package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
)

// Domain is a local domain: mail for it is delivered here.
type Domain struct {
	Name    string
	Created time.Time
}

// User is a virtual mail account.
type User struct {
	Address    Address
	QuotaBytes int64 // 0 = unlimited
	Enabled    bool
	Created    time.Time
}

// Alias maps a source address to one or more targets. Source is
// "local@domain" or "@domain" (catch-all); targets are full addresses,
// local or remote.
type Alias struct {
	Source  string
	Targets []string
}

// isUniqueViolation reports whether err is a primary key or unique
// constraint failure.
func isUniqueViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey || se.ExtendedCode == sqlite3.ErrConstraintUnique
	}
	return false
}

func normDomainArg(name string) (string, error) {
	return NormalizeDomain(strings.TrimSpace(name))
}

// AddDomain adds a local domain. ErrExists if it is already there.
func (s *Store) AddDomain(ctx context.Context, name string) (Domain, error) {
	d, err := normDomainArg(name)
	if err != nil {
		return Domain{}, fmt.Errorf("add domain: %w", err)
	}
	now := time.Now().Unix()
	_, err = s.db.ExecContext(ctx, `INSERT INTO domains (name, created) VALUES (?, ?)`, d, now)
	if isUniqueViolation(err) {
		return Domain{}, fmt.Errorf("add domain %q: %w", d, ErrExists)
	}
	if err != nil {
		return Domain{}, fmt.Errorf("add domain %q: %w", d, err)
	}
	return Domain{Name: d, Created: time.Unix(now, 0).UTC()}, nil
}

// RemoveDomain removes a domain that has no users and no aliases left
// (ErrDomainNotEmpty otherwise). ErrNotFound if it does not exist.
func (s *Store) RemoveDomain(ctx context.Context, name string) error {
	d, err := normDomainArg(name)
	if err != nil {
		return fmt.Errorf("remove domain: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("remove domain %q: %w", d, err)
	}
	defer tx.Rollback()
	var users, aliases int
	if err := tx.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM users WHERE domain = ?),
		(SELECT COUNT(*) FROM aliases WHERE domain = ?)`, d, d).Scan(&users, &aliases); err != nil {
		return fmt.Errorf("remove domain %q: %w", d, err)
	}
	if users > 0 || aliases > 0 {
		return fmt.Errorf("remove domain %q: %d users, %d alias entries: %w", d, users, aliases, ErrDomainNotEmpty)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM domains WHERE name = ?`, d)
	if err != nil {
		return fmt.Errorf("remove domain %q: %w", d, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("remove domain %q: %w", d, ErrNotFound)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remove domain %q: %w", d, err)
	}
	return nil
}

// Domains lists the local domains sorted by name.
func (s *Store) Domains(ctx context.Context) ([]Domain, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, created FROM domains ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	defer rows.Close()
	var out []Domain
	for rows.Next() {
		var d Domain
		var created int64
		if err := rows.Scan(&d.Name, &created); err != nil {
			return nil, fmt.Errorf("list domains: %w", err)
		}
		d.Created = time.Unix(created, 0).UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	return out, nil
}

// IsLocalDomain reports whether name is one of the local domains. A name
// that is not a valid domain is not local (and not an error).
func (s *Store) IsLocalDomain(ctx context.Context, name string) (bool, error) {
	d, err := normDomainArg(name)
	if err != nil {
		return false, nil
	}
	return s.isLocalDomain(ctx, d)
}

func (s *Store) isLocalDomain(ctx context.Context, d string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM domains WHERE name = ?`, d).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up domain %q: %w", d, err)
	}
	return true, nil
}

// parseAccount parses addr and checks that its local part can name an
// account directory.
func parseAccount(addr string) (Address, error) {
	a, err := ParseAddress(addr)
	if err != nil {
		return Address{}, err
	}
	if err := ValidAccountLocal(a.Local); err != nil {
		return Address{}, fmt.Errorf("address %q: %w", addr, err)
	}
	return a, nil
}

// AddUser creates a user and its Maildir++ tree (INBOX plus .Sent,
// .Drafts, .Trash, .Junk, .Archive). ErrNoSuchDomain if the domain is not
// local; ErrExists if the user or an alias with the same source exists.
// A Maildir left on disk by a removed user of the same name is reused.
func (s *Store) AddUser(ctx context.Context, addr, password string, quotaBytes int64) (User, error) {
	a, err := parseAccount(addr)
	if err != nil {
		return User{}, fmt.Errorf("add user: %w", err)
	}
	if quotaBytes < 0 {
		return User{}, fmt.Errorf("add user %q: negative quota", a)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, fmt.Errorf("add user %q: %w", a, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return User{}, fmt.Errorf("add user %q: %w", a, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM domains WHERE name = ?`, a.Domain).Scan(&n); err != nil {
		return User{}, fmt.Errorf("add user %q: %w", a, err)
	}
	if n == 0 {
		return User{}, fmt.Errorf("add user %q: domain %q: %w", a, a.Domain, ErrNoSuchDomain)
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM aliases WHERE source = ?`, a.String()).Scan(&n); err != nil {
		return User{}, fmt.Errorf("add user %q: %w", a, err)
	}
	if n > 0 {
		return User{}, fmt.Errorf("add user %q: an alias with this address: %w", a, ErrExists)
	}
	now := time.Now().Unix()
	_, err = tx.ExecContext(ctx, `INSERT INTO users (local, domain, password, quota_bytes, enabled, created)
		VALUES (?, ?, ?, ?, 1, ?)`, a.Local, a.Domain, hash, quotaBytes, now)
	if isUniqueViolation(err) {
		return User{}, fmt.Errorf("add user %q: %w", a, ErrExists)
	}
	if err != nil {
		return User{}, fmt.Errorf("add user %q: %w", a, err)
	}
	// Create the Maildir before committing: a user that exists always
	// has a Maildir (and Account recreates it if someone removed it).
	if err := s.ensureMaildir(a); err != nil {
		return User{}, fmt.Errorf("add user %q: %w", a, err)
	}
	if err := tx.Commit(); err != nil {
		return User{}, fmt.Errorf("add user %q: %w", a, err)
	}
	return User{Address: a, QuotaBytes: quotaBytes, Enabled: true, Created: time.Unix(now, 0).UTC()}, nil
}

// RemoveUser removes the user from the directory. The Maildir stays on
// disk (an operator deletes or archives it by hand); adding the same user
// again picks it up. ErrNoSuchUser if the user does not exist.
func (s *Store) RemoveUser(ctx context.Context, addr string) error {
	a, err := ParseAddress(addr)
	if err != nil {
		return fmt.Errorf("remove user: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE local = ? AND domain = ?`, a.Local, a.Domain)
	if err != nil {
		return fmt.Errorf("remove user %q: %w", a, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("remove user %q: %w", a, ErrNoSuchUser)
	}
	return nil
}

const userColumns = `local, domain, quota_bytes, enabled, created`

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	var enabled int
	var created int64
	if err := sc.Scan(&u.Address.Local, &u.Address.Domain, &u.QuotaBytes, &enabled, &created); err != nil {
		return User{}, err
	}
	u.Enabled = enabled != 0
	u.Created = time.Unix(created, 0).UTC()
	return u, nil
}

// User returns the user with address addr (enabled or not).
// ErrNoSuchUser if there is none.
func (s *Store) User(ctx context.Context, addr string) (User, error) {
	a, err := ParseAddress(addr)
	if err != nil {
		return User{}, fmt.Errorf("look up user: %w: %w", err, ErrNoSuchUser)
	}
	return s.user(ctx, a)
}

func (s *Store) user(ctx context.Context, a Address) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE local = ? AND domain = ?`, a.Local, a.Domain))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("look up user %q: %w", a, ErrNoSuchUser)
	}
	if err != nil {
		return User{}, fmt.Errorf("look up user %q: %w", a, err)
	}
	return u, nil
}

// Users lists the users of domain ("" = all domains), sorted by domain
// and local part.
func (s *Store) Users(ctx context.Context, domain string) ([]User, error) {
	q := `SELECT ` + userColumns + ` FROM users`
	var args []any
	if domain != "" {
		d, err := normDomainArg(domain)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		q += ` WHERE domain = ?`
		args = append(args, d)
	}
	q += ` ORDER BY domain, local`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// updateUser runs an UPDATE on one user; ErrNoSuchUser if no row matched.
func (s *Store) updateUser(ctx context.Context, op, addr, set string, value any) error {
	a, err := ParseAddress(addr)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE users SET `+set+` = ? WHERE local = ? AND domain = ?`, value, a.Local, a.Domain)
	if err != nil {
		return fmt.Errorf("%s %q: %w", op, a, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %q: %w", op, a, ErrNoSuchUser)
	}
	return nil
}

// SetPassword replaces the user's password (stored as argon2id).
func (s *Store) SetPassword(ctx context.Context, addr, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return s.updateUser(ctx, "set password", addr, "password", hash)
}

// SetQuota sets the user's quota in bytes (0 = unlimited).
func (s *Store) SetQuota(ctx context.Context, addr string, quotaBytes int64) error {
	if quotaBytes < 0 {
		return errors.New("set quota: negative quota")
	}
	return s.updateUser(ctx, "set quota", addr, "quota_bytes", quotaBytes)
}

// SetEnabled enables or disables the user. A disabled user cannot log in
// and receives no mail (Resolve treats it as absent).
func (s *Store) SetEnabled(ctx context.Context, addr string, enabled bool) error {
	v := 0
	if enabled {
		v = 1
	}
	return s.updateUser(ctx, "set enabled", addr, "enabled", v)
}

// Authenticate checks a user's password. Unknown users, wrong passwords
// and disabled users all give ErrAuthFailed, and each costs one hash
// computation so timing does not tell them apart. Other errors (database
// failures) are returned as they are.
func (s *Store) Authenticate(ctx context.Context, addr, password string) (User, error) {
	c, err := s.credentials(ctx, addr)
	if err != nil {
		return User{}, err
	}
	return s.verify(c, password)
}

// credentials is what a login is checked against: the user (if found)
// and the stored password hash (dummyHash when not found).
type credentials struct {
	addr  string // as given
	user  User
	hash  string
	found bool
}

// credentials looks the user up without hashing anything.
func (s *Store) credentials(ctx context.Context, addr string) (credentials, error) {
	c := credentials{addr: addr, hash: dummyHash}
	a, perr := ParseAddress(addr)
	if perr != nil {
		return c, nil
	}
	var enabled int
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT local, domain, quota_bytes, enabled, created, password
		FROM users WHERE local = ? AND domain = ?`, a.Local, a.Domain).
		Scan(&c.user.Address.Local, &c.user.Address.Domain, &c.user.QuotaBytes, &enabled, &created, &c.hash)
	switch {
	case err == nil:
		c.found = true
		c.user.Enabled = enabled != 0
		c.user.Created = time.Unix(created, 0).UTC()
	case errors.Is(err, sql.ErrNoRows):
		c.hash = dummyHash
	default:
		return c, fmt.Errorf("authenticate %q: %w", a, err)
	}
	return c, nil
}

// verify hashes password against c (the expensive part of a login).
func (s *Store) verify(c credentials, password string) (User, error) {
	ok, verr := VerifyPassword(c.hash, password)
	if verr != nil && c.found {
		s.log.Warn("unusable password hash", "user", c.user.Address.String(), "err", verr)
	}
	if !c.usable() || !ok || verr != nil || password == "" {
		return User{}, c.failed()
	}
	return c.user, nil
}

// usable reports whether the account exists and may log in at all.
func (c credentials) usable() bool { return c.found && c.user.Enabled }

func (c credentials) failed() error {
	return fmt.Errorf("authenticate %q: %w", strings.TrimSpace(c.addr), ErrAuthFailed)
}

// parseAliasSource parses "local@domain" or "@domain".
func parseAliasSource(source string) (src, domain string, err error) {
	source = strings.TrimSpace(source)
	if rest, ok := strings.CutPrefix(source, "@"); ok {
		d, err := NormalizeDomain(rest)
		if err != nil {
			return "", "", fmt.Errorf("alias source %q: %w", source, err)
		}
		return "@" + d, d, nil
	}
	a, err := ParseAddress(source)
	if err != nil {
		return "", "", fmt.Errorf("alias source: %w", err)
	}
	return a.String(), a.Domain, nil
}

// AddAlias adds targets to the alias source ("local@domain" or "@domain"
// for a catch-all), creating it if needed; targets already present are
// skipped. The source domain must be local (ErrNoSuchDomain). Targets are
// full addresses, local or remote.
func (s *Store) AddAlias(ctx context.Context, source string, targets []string) error {
	src, domain, err := parseAliasSource(source)
	if err != nil {
		return fmt.Errorf("add alias: %w", err)
	}
	if len(targets) == 0 {
		return fmt.Errorf("add alias %q: no targets", src)
	}
	norm := make([]string, 0, len(targets))
	for _, t := range targets {
		a, err := ParseAddress(t)
		if err != nil {
			return fmt.Errorf("add alias %q: target: %w", src, err)
		}
		if !slices.Contains(norm, a.String()) {
			norm = append(norm, a.String())
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add alias %q: %w", src, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM domains WHERE name = ?`, domain).Scan(&n); err != nil {
		return fmt.Errorf("add alias %q: %w", src, err)
	}
	if n == 0 {
		return fmt.Errorf("add alias %q: domain %q: %w", src, domain, ErrNoSuchDomain)
	}
	var pos int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM aliases WHERE source = ?`, src).Scan(&pos); err != nil {
		return fmt.Errorf("add alias %q: %w", src, err)
	}
	for _, t := range norm {
		pos++
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO aliases (source, domain, target, position) VALUES (?, ?, ?, ?)`,
			src, domain, t, pos); err != nil {
			return fmt.Errorf("add alias %q: %w", src, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add alias %q: %w", src, err)
	}
	return nil
}

// RemoveAlias removes the given targets from source, or the whole alias
// when no targets are given. ErrNotFound if the alias, or one of the
// targets, does not exist (nothing is removed then).
func (s *Store) RemoveAlias(ctx context.Context, source string, targets ...string) error {
	src, _, err := parseAliasSource(source)
	if err != nil {
		return fmt.Errorf("remove alias: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("remove alias %q: %w", src, err)
	}
	defer tx.Rollback()
	if len(targets) == 0 {
		res, err := tx.ExecContext(ctx, `DELETE FROM aliases WHERE source = ?`, src)
		if err != nil {
			return fmt.Errorf("remove alias %q: %w", src, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("remove alias %q: %w", src, ErrNotFound)
		}
	}
	for _, t := range targets {
		a, err := ParseAddress(t)
		if err != nil {
			return fmt.Errorf("remove alias %q: target: %w", src, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM aliases WHERE source = ? AND target = ?`, src, a.String())
		if err != nil {
			return fmt.Errorf("remove alias %q: %w", src, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("remove alias %q target %q: %w", src, a, ErrNotFound)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remove alias %q: %w", src, err)
	}
	return nil
}

// Aliases lists the aliases of domain ("" = all), sorted by source, each
// with its targets in the order they were added.
func (s *Store) Aliases(ctx context.Context, domain string) ([]Alias, error) {
	q := `SELECT source, target FROM aliases`
	var args []any
	if domain != "" {
		d, err := normDomainArg(domain)
		if err != nil {
			return nil, fmt.Errorf("list aliases: %w", err)
		}
		q += ` WHERE domain = ?`
		args = append(args, d)
	}
	q += ` ORDER BY source, position`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list aliases: %w", err)
	}
	defer rows.Close()
	var out []Alias
	for rows.Next() {
		var src, target string
		if err := rows.Scan(&src, &target); err != nil {
			return nil, fmt.Errorf("list aliases: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Source != src {
			out = append(out, Alias{Source: src})
		}
		out[len(out)-1].Targets = append(out[len(out)-1].Targets, target)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list aliases: %w", err)
	}
	return out, nil
}

// aliasTargets returns the targets of one alias source, in order.
func (s *Store) aliasTargets(ctx context.Context, src string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT target FROM aliases WHERE source = ? ORDER BY position`, src)
	if err != nil {
		return nil, fmt.Errorf("look up alias %q: %w", src, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("look up alias %q: %w", src, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up alias %q: %w", src, err)
	}
	return out, nil
}
