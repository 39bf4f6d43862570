package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Expansion limits for Resolve.
const (
	maxResolveDepth   = 10
	maxResolveTargets = 1000
)

// Target is one final recipient of a resolved address.
type Target struct {
	Address Address
	Local   bool // an existing, enabled local user: deliver to its Maildir
}

// Resolve maps a recipient address to its final recipients with Postfix
// virtual-alias semantics. The domain must be local (ErrNotLocalDomain).
// For a@d, in order:
//
//  1. an alias with source a@d is expanded (a target equal to a@d that is
//     also a user means "deliver to that user as well");
//  2. an enabled user a@d receives the mail (a disabled user counts as
//     no user);
//  3. with plus-addressing (a = base+ext), steps 1 and 2 are retried with
//     base@d;
//  4. the catch-all alias @d is expanded;
//  5. postmaster@d (RFC 5321 §4.5.1: every domain must accept it) goes to
//     Options.Postmaster when set, else to the domain's first enabled
//     user (the oldest account);
//  6. otherwise ErrNoSuchUser.
//
// Expansion applies the same rules to each local target, up to depth 10
// and 1000 targets, skips addresses already seen (loops) and duplicates,
// returns targets in other domains as remote (Local false), and skips
// (logging) local targets that resolve to nothing. If nothing is left,
// ErrNoSuchUser. Every call reads the database: changes are seen at once.
func (s *Store) Resolve(ctx context.Context, addr string) ([]Target, error) {
	a, err := ParseAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("resolve: %w: %w", err, ErrNoSuchUser)
	}
	local, err := s.isLocalDomain(ctx, a.Domain)
	if err != nil {
		return nil, fmt.Errorf("resolve %q: %w", a, err)
	}
	if !local {
		return nil, fmt.Errorf("resolve %q: %w", a, ErrNotLocalDomain)
	}
	r := &resolver{s: s, seen: map[string]bool{a.String(): true}, out: map[string]bool{}}
	found, err := r.resolveLocal(ctx, a, 0)
	if err == nil && (!found || len(r.targets) == 0) && a.Local == "postmaster" {
		found, err = r.postmaster(ctx, a)
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %q: %w", a, err)
	}
	if !found || len(r.targets) == 0 {
		return nil, fmt.Errorf("resolve %q: %w", a, ErrNoSuchUser)
	}
	return r.targets, nil
}

type resolver struct {
	s       *Store
	seen    map[string]bool // addresses already expanded (loop protection)
	out     map[string]bool // targets already added (dedup)
	targets []Target
}

var errTooManyTargets = fmt.Errorf("alias expansion exceeds %d targets", maxResolveTargets)

func (r *resolver) add(a Address, local bool) error {
	k := a.String()
	if r.out[k] {
		return nil
	}
	if len(r.targets) >= maxResolveTargets {
		return errTooManyTargets
	}
	r.out[k] = true
	r.targets = append(r.targets, Target{Address: a, Local: local})
	return nil
}

// resolveLocal applies rules 1-4 to a, an address in a local domain. It
// reports whether some rule matched.
func (r *resolver) resolveLocal(ctx context.Context, a Address, depth int) (bool, error) {
	if ok, err := r.aliasOrUser(ctx, a, depth); ok || err != nil {
		return ok, err
	}
	if base, _, ok := strings.Cut(a.Local, "+"); ok && base != "" {
		if ok, err := r.aliasOrUser(ctx, Address{Local: base, Domain: a.Domain}, depth); ok || err != nil {
			return ok, err
		}
	}
	targets, err := r.s.aliasTargets(ctx, "@"+a.Domain)
	if err != nil {
		return false, err
	}
	if len(targets) == 0 {
		return false, nil
	}
	return true, r.expand(ctx, "@"+a.Domain, targets, Address{}, depth)
}

// aliasOrUser applies rules 1 and 2.
func (r *resolver) aliasOrUser(ctx context.Context, a Address, depth int) (bool, error) {
	targets, err := r.s.aliasTargets(ctx, a.String())
	if err != nil {
		return false, err
	}
	if len(targets) > 0 {
		return true, r.expand(ctx, a.String(), targets, a, depth)
	}
	ok, err := r.s.enabledUser(ctx, a)
	if err != nil || !ok {
		return false, err
	}
	return true, r.add(a, true)
}

// expand resolves the targets of the alias src. self is the alias source
// address (zero for a catch-all): a target equal to it is delivered to
// the user of that name, if any, instead of being expanded again.
func (r *resolver) expand(ctx context.Context, src string, targets []string, self Address, depth int) error {
	for _, t := range targets {
		ta, err := ParseAddress(t)
		if err != nil {
			r.s.log.Warn("alias target unparsable, skipped", "alias", src, "rcpt", t, "err", err)
			continue
		}
		if self != (Address{}) && ta == self {
			ok, err := r.s.enabledUser(ctx, ta)
			if err != nil {
				return err
			}
			if ok {
				if err := r.add(ta, true); err != nil {
					return err
				}
			} else {
				r.s.log.Warn("alias points to itself but no such user, skipped", "alias", src, "rcpt", t)
			}
			continue
		}
		if err := r.expandTarget(ctx, src, ta, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (r *resolver) expandTarget(ctx context.Context, src string, ta Address, depth int) error {
	k := ta.String()
	if r.seen[k] {
		return nil
	}
	r.seen[k] = true
	if depth > maxResolveDepth {
		r.s.log.Warn("alias expansion too deep, target skipped", "alias", src, "rcpt", k)
		return nil
	}
	local, err := r.s.isLocalDomain(ctx, ta.Domain)
	if err != nil {
		return err
	}
	if !local {
		return r.add(ta, false)
	}
	found, err := r.resolveLocal(ctx, ta, depth)
	if err != nil {
		return err
	}
	if !found {
		r.s.log.Warn("alias target resolves to nothing, skipped", "alias", src, "rcpt", k)
	}
	return nil
}

// postmaster applies rule 5 to a, postmaster@ of a local domain.
func (r *resolver) postmaster(ctx context.Context, a Address) (bool, error) {
	if r.s.postmaster != "" {
		pa, err := ParseAddress(r.s.postmaster)
		if err != nil {
			r.s.log.Warn("postmaster address unparsable", "rcpt", r.s.postmaster, "err", err)
			return false, nil
		}
		if err := r.expandTarget(ctx, a.String(), pa, 1); err != nil {
			return false, err
		}
		return len(r.targets) > 0, nil
	}
	var local string
	err := r.s.db.QueryRowContext(ctx, `SELECT local FROM users WHERE domain = ? AND enabled = 1 ORDER BY created, rowid LIMIT 1`, a.Domain).Scan(&local)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, r.add(Address{Local: local, Domain: a.Domain}, true)
}

// enabledUser reports whether a is an existing, enabled user.
func (s *Store) enabledUser(ctx context.Context, a Address) (bool, error) {
	u, err := s.user(ctx, a)
	if errors.Is(err, ErrNoSuchUser) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return u.Enabled, nil
}
