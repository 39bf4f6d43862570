package storage

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// newTestStore opens a store in a fresh temp dir and closes it at the end.
func newTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// mustDomain adds domains or fails the test.
func mustDomain(t *testing.T, s *Store, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := s.AddDomain(t.Context(), n); err != nil {
			t.Fatal(err)
		}
	}
}

func mustUser(t *testing.T, s *Store, addr string, quota int64) User {
	t.Helper()
	u, err := s.AddUser(t.Context(), addr, "pw-"+addr, quota)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestOpenMigrations(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(migrations))
	}
	mustDomain(t, s, "example.com")
	if s.MailRoot() != filepath.Join(dir, "mail") {
		t.Errorf("MailRoot = %q", s.MailRoot())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir: %v %v", fi.Mode(), err)
	}
	// Open again: migrations are not re-applied and data survives.
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var rows int
	if err := s2.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version`).Scan(&rows); err != nil || rows != len(migrations) {
		t.Errorf("schema_version rows = %d, %v", rows, err)
	}
	if ok, err := s2.IsLocalDomain(ctx, "EXAMPLE.com"); !ok || err != nil {
		t.Errorf("IsLocalDomain after reopen = %v, %v", ok, err)
	}
	var mode string
	if err := s2.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
}

func TestTwoStoresSeeEachOther(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	daemon, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer daemon.Close()
	cli, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	mustDomain(t, cli, "example.com")
	mustUser(t, cli, "a@example.com", 0)
	if _, err := daemon.User(ctx, "a@example.com"); err != nil {
		t.Errorf("daemon does not see the user added by the CLI: %v", err)
	}
	if err := cli.SetEnabled(ctx, "a@example.com", false); err != nil {
		t.Fatal(err)
	}
	if _, err := daemon.Resolve(ctx, "a@example.com"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("daemon resolves a disabled user: %v", err)
	}
}

func TestDomains(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newTestStore(t)
	d, err := s.AddDomain(ctx, "BÜCHER.example")
	if err != nil || d.Name != "xn--bcher-kva.example" || d.Created.IsZero() {
		t.Fatalf("AddDomain = %+v, %v", d, err)
	}
	if _, err := s.AddDomain(ctx, "xn--bcher-kva.example."); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate AddDomain: %v", err)
	}
	if _, err := s.AddDomain(ctx, "bad_domain"); err == nil {
		t.Error("AddDomain(bad_domain) succeeded")
	}
	mustDomain(t, s, "a.example")
	ds, err := s.Domains(ctx)
	if err != nil || len(ds) != 2 || ds[0].Name != "a.example" || ds[1].Name != "xn--bcher-kva.example" {
		t.Errorf("Domains = %+v, %v", ds, err)
	}
	for name, want := range map[string]bool{"a.example": true, "A.EXAMPLE.": true, "b.example": false, "[1.2.3.4]": false} {
		if got, err := s.IsLocalDomain(ctx, name); got != want || err != nil {
			t.Errorf("IsLocalDomain(%q) = %v, %v; want %v", name, got, err, want)
		}
	}

	mustUser(t, s, "u@a.example", 0)
	if err := s.RemoveDomain(ctx, "a.example"); !errors.Is(err, ErrDomainNotEmpty) {
		t.Errorf("RemoveDomain with a user: %v", err)
	}
	if err := s.RemoveUser(ctx, "u@a.example"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAlias(ctx, "@a.example", []string{"x@elsewhere.example"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveDomain(ctx, "a.example"); !errors.Is(err, ErrDomainNotEmpty) {
		t.Errorf("RemoveDomain with an alias: %v", err)
	}
	if err := s.RemoveAlias(ctx, "@a.example"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveDomain(ctx, "a.example"); err != nil {
		t.Errorf("RemoveDomain: %v", err)
	}
	if err := s.RemoveDomain(ctx, "a.example"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveDomain twice: %v", err)
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newTestStore(t)
	mustDomain(t, s, "example.com", "other.example")

	u, err := s.AddUser(ctx, "Alice@Example.com", "pw", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if u.Address.String() != "alice@example.com" || u.QuotaBytes != 1000 || !u.Enabled {
		t.Errorf("AddUser = %+v", u)
	}
	tests := []struct {
		addr, pw string
		want     error
	}{
		{"alice@example.com", "pw", ErrExists},
		{"bob@nowhere.example", "pw", ErrNoSuchDomain},
		{"bob+x@example.com", "pw", nil}, // any error
		{"bob..x@example.com", "pw", nil},
		{`"bob x"@example.com`, "pw", nil},
		{"bob@example.com", "", nil},
	}
	for _, tt := range tests {
		_, err := s.AddUser(ctx, tt.addr, tt.pw, 0)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("AddUser(%q) = %v, want %v", tt.addr, err, tt.want)
		}
	}
	if err := s.AddAlias(ctx, "list@example.com", []string{"alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, "list@example.com", "pw", 0); !errors.Is(err, ErrExists) {
		t.Errorf("AddUser over an alias: %v", err)
	}

	mustUser(t, s, "bob@other.example", 0)
	mustUser(t, s, "carol@example.com", 0)
	all, err := s.Users(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range all {
		names = append(names, u.Address.String())
	}
	if want := []string{"alice@example.com", "carol@example.com", "bob@other.example"}; !slices.Equal(names, want) {
		t.Errorf("Users(\"\") = %v, want %v", names, want)
	}
	if us, err := s.Users(ctx, "other.example"); err != nil || len(us) != 1 {
		t.Errorf("Users(other.example) = %v, %v", us, err)
	}

	if err := s.SetQuota(ctx, "alice@example.com", 5); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.User(ctx, "alice@example.com"); u.QuotaBytes != 5 {
		t.Errorf("quota = %d", u.QuotaBytes)
	}
	if err := s.SetQuota(ctx, "nobody@example.com", 5); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("SetQuota(unknown) = %v", err)
	}
	if _, err := s.User(ctx, "nobody@example.com"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("User(unknown) = %v", err)
	}

	// Authentication.
	if u, err := s.Authenticate(ctx, "ALICE@example.com", "pw"); err != nil || u.Address.Local != "alice" {
		t.Errorf("Authenticate(right) = %+v, %v", u, err)
	}
	for _, c := range []struct{ addr, pw string }{
		{"alice@example.com", "wrong"},
		{"alice@example.com", ""},
		{"nobody@example.com", "pw"},
		{"not an address", "pw"},
	} {
		if _, err := s.Authenticate(ctx, c.addr, c.pw); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("Authenticate(%q, %q) = %v, want ErrAuthFailed", c.addr, c.pw, err)
		}
	}
	if err := s.SetPassword(ctx, "alice@example.com", "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "alice@example.com", "pw"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("old password still works: %v", err)
	}
	if _, err := s.Authenticate(ctx, "alice@example.com", "new"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if err := s.SetEnabled(ctx, "alice@example.com", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "alice@example.com", "new"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("disabled user authenticated: %v", err)
	}
	if u, _ := s.User(ctx, "alice@example.com"); u.Enabled {
		t.Error("user still enabled")
	}

	// Removal keeps the Maildir.
	dir := filepath.Join(s.MailRoot(), "example.com", "carol")
	if err := s.RemoveUser(ctx, "carol@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUser(ctx, "carol@example.com"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("RemoveUser twice: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
		t.Errorf("Maildir removed with the user: %v", err)
	}
}

func TestAuthenticateBcryptUser(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newTestStore(t)
	mustDomain(t, s, "example.com")
	mustUser(t, s, "old@example.com", 0)
	h, err := bcrypt.GenerateFromPassword([]byte("imported"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET password = ? WHERE local = 'old'`, string(h)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "old@example.com", "imported"); err != nil {
		t.Errorf("bcrypt user: %v", err)
	}
}

func TestAliases(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newTestStore(t)
	mustDomain(t, s, "example.com")

	if err := s.AddAlias(ctx, "Info@Example.com", []string{"a@example.com", "B@Remote.example"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAlias(ctx, "info@example.com", []string{"b@remote.example", "c@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAlias(ctx, "@example.com", []string{"a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAlias(ctx, "x@nowhere.example", []string{"a@example.com"}); !errors.Is(err, ErrNoSuchDomain) {
		t.Errorf("AddAlias in a non-local domain: %v", err)
	}
	if err := s.AddAlias(ctx, "@nowhere.example", []string{"a@example.com"}); !errors.Is(err, ErrNoSuchDomain) {
		t.Errorf("catch-all in a non-local domain: %v", err)
	}
	if err := s.AddAlias(ctx, "y@example.com", []string{"not-an-address"}); err == nil {
		t.Error("AddAlias with a bad target succeeded")
	}
	if err := s.AddAlias(ctx, "y@example.com", nil); err == nil {
		t.Error("AddAlias without targets succeeded")
	}

	got, err := s.Aliases(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := []Alias{
		{Source: "@example.com", Targets: []string{"a@example.com"}},
		{Source: "info@example.com", Targets: []string{"a@example.com", "b@remote.example", "c@example.com"}},
	}
	if !aliasesEqual(got, want) {
		t.Errorf("Aliases = %+v, want %+v", got, want)
	}

	if err := s.RemoveAlias(ctx, "info@example.com", "A@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAlias(ctx, "info@example.com", "zzz@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveAlias(unknown target) = %v", err)
	}
	got, _ = s.Aliases(ctx, "")
	want[1].Targets = []string{"b@remote.example", "c@example.com"}
	if !aliasesEqual(got, want) {
		t.Errorf("after removing a target: %+v", got)
	}
	if err := s.RemoveAlias(ctx, "info@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAlias(ctx, "info@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveAlias twice = %v", err)
	}
	got, _ = s.Aliases(ctx, "")
	if !aliasesEqual(got, want[:1]) {
		t.Errorf("after removing the alias: %+v", got)
	}
}

func aliasesEqual(a, b []Alias) bool {
	return slices.EqualFunc(a, b, func(x, y Alias) bool {
		return x.Source == y.Source && slices.Equal(x.Targets, y.Targets)
	})
}
