package storage

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newTestStore(t)
	mustDomain(t, s, "example.com", "catch.example", "two.example")
	for _, u := range []string{"alice@example.com", "bob@example.com", "carol@example.com", "off@example.com",
		"admin@catch.example", "self@example.com", "x@two.example"} {
		mustUser(t, s, u, 0)
	}
	if err := s.SetEnabled(ctx, "off@example.com", false); err != nil {
		t.Fatal(err)
	}
	aliases := map[string][]string{
		"team@example.com":      {"alice@example.com", "bob@example.com", "alice@example.com"},
		"ext@example.com":       {"friend@remote.example", "alice@example.com"},
		"nested@example.com":    {"team@example.com", "carol@example.com"},
		"loop1@example.com":     {"loop2@example.com"},
		"loop2@example.com":     {"loop1@example.com", "bob@example.com"},
		"deadloop@example.com":  {"deadloop2@example.com"},
		"deadloop2@example.com": {"deadloop@example.com"},
		"self@example.com":      {"self@example.com", "bob@example.com"},
		"ghost@example.com":     {"nobody@example.com", "carol@example.com"},
		"allghost@example.com":  {"nobody@example.com"},
		"offalias@example.com":  {"off@example.com"},
		"@catch.example":        {"admin@catch.example"},
		"list@catch.example":    {"x@two.example"},
		"alice@example.com":     {"alice@example.com", "archive@remote.example"},
	}
	for src, targets := range aliases {
		if err := s.AddAlias(ctx, src, targets); err != nil {
			t.Fatalf("AddAlias(%s): %v", src, err)
		}
	}
	// A chain longer than the depth limit: chain0 -> chain1 -> ... -> chain14 -> carol.
	for i := range 15 {
		next := fmt.Sprintf("chain%d@example.com", i+1)
		if i == 14 {
			next = "carol@example.com"
		}
		if err := s.AddAlias(ctx, fmt.Sprintf("chain%d@example.com", i), []string{next}); err != nil {
			t.Fatal(err)
		}
	}

	L := func(a string) string { return "L:" + a }
	R := func(a string) string { return "R:" + a }
	tests := []struct {
		addr string
		want []string
		err  error
	}{
		{addr: "bob@example.com", want: []string{L("bob@example.com")}},
		{addr: "BOB@Example.COM", want: []string{L("bob@example.com")}},
		{addr: "bob+news@example.com", want: []string{L("bob@example.com")}},
		{addr: "bob+a+b@example.com", want: []string{L("bob@example.com")}},
		{addr: "team+x@example.com", want: []string{L("alice@example.com"), R("archive@remote.example"), L("bob@example.com")}},
		{addr: "nobody@example.com", err: ErrNoSuchUser},
		{addr: "+x@example.com", err: ErrNoSuchUser},
		{addr: "off@example.com", err: ErrNoSuchUser},
		{addr: "offalias@example.com", err: ErrNoSuchUser},
		{addr: "someone@remote.example", err: ErrNotLocalDomain},
		{addr: "alice@example.com", want: []string{L("alice@example.com"), R("archive@remote.example")}},
		{addr: "team@example.com", want: []string{L("alice@example.com"), R("archive@remote.example"), L("bob@example.com")}},
		{addr: "ext@example.com", want: []string{R("friend@remote.example"), L("alice@example.com"), R("archive@remote.example")}},
		{addr: "nested@example.com", want: []string{L("alice@example.com"), R("archive@remote.example"), L("bob@example.com"), L("carol@example.com")}},
		{addr: "loop1@example.com", want: []string{L("bob@example.com")}},
		{addr: "deadloop@example.com", err: ErrNoSuchUser},
		{addr: "self@example.com", want: []string{L("self@example.com"), L("bob@example.com")}},
		{addr: "ghost@example.com", want: []string{L("carol@example.com")}},
		{addr: "allghost@example.com", err: ErrNoSuchUser},
		{addr: "whatever@catch.example", want: []string{L("admin@catch.example")}},
		{addr: "admin@catch.example", want: []string{L("admin@catch.example")}},
		{addr: "list@catch.example", want: []string{L("x@two.example")}},
		{addr: "chain5@example.com", want: []string{L("carol@example.com")}},
		{addr: "chain0@example.com", err: ErrNoSuchUser}, // deeper than 10
		{addr: "not an address", err: ErrNoSuchUser},
	}
	for _, tt := range tests {
		got, err := s.Resolve(ctx, tt.addr)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("Resolve(%q) = %v, %v; want error %v", tt.addr, got, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.addr, err)
			continue
		}
		var gs []string
		for _, tg := range got {
			if tg.Local {
				gs = append(gs, L(tg.Address.String()))
			} else {
				gs = append(gs, R(tg.Address.String()))
			}
		}
		if !slices.Equal(gs, tt.want) {
			t.Errorf("Resolve(%q) = %v, want %v", tt.addr, gs, tt.want)
		}
	}
}

func TestResolveTooManyTargets(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newTestStore(t)
	mustDomain(t, s, "example.com")
	targets := make([]string, 0, maxResolveTargets+1)
	for i := range maxResolveTargets + 1 {
		targets = append(targets, fmt.Sprintf("r%d@remote.example", i))
	}
	if err := s.AddAlias(ctx, "big@example.com", targets); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve(ctx, "big@example.com"); err == nil {
		t.Error("Resolve of an alias with 1001 targets succeeded")
	}
	if err := s.RemoveAlias(ctx, "big@example.com", targets[0]); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Resolve(ctx, "big@example.com"); err != nil || len(got) != maxResolveTargets {
		t.Errorf("Resolve of 1000 targets = %d, %v", len(got), err)
	}
}

// TestResolvePostmaster: postmaster@ of every local domain resolves even
// without a user or alias (RFC 5321 §4.5.1): to the configured address,
// else to the domain's first enabled user; an alias or user of that name
// still wins.
func TestResolvePostmaster(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newTestStore(t)
	mustDomain(t, s, "acme.test", "empty.test", "own.test")
	mustUser(t, s, "zed@acme.test", 0)
	mustUser(t, s, "amy@acme.test", 0)
	mustUser(t, s, "boss@own.test", 0)
	mustUser(t, s, "pm@own.test", 0)
	if err := s.AddAlias(ctx, "postmaster@own.test", []string{"pm@own.test"}); err != nil {
		t.Fatal(err)
	}
	one := func(st *Store, addr, want string) {
		t.Helper()
		got, err := st.Resolve(ctx, addr)
		if err != nil || len(got) != 1 || got[0].Address.String() != want || !got[0].Local {
			t.Errorf("Resolve(%q) = %v, %v; want %s", addr, got, err, want)
		}
	}
	one(s, "postmaster@acme.test", "zed@acme.test") // the first user, not the first by name
	one(s, "PostMaster@ACME.test", "zed@acme.test")
	one(s, "postmaster@own.test", "pm@own.test")
	if _, err := s.Resolve(ctx, "postmaster@empty.test"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("postmaster of a domain without users: %v, want ErrNoSuchUser", err)
	}
	if _, err := s.Resolve(ctx, "webmaster@acme.test"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("webmaster: %v, want ErrNoSuchUser", err)
	}

	// A configured address takes postmaster@ of every domain.
	cfg, err := Open(s.dir, Options{Postmaster: "amy@acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	one(cfg, "postmaster@acme.test", "amy@acme.test")
	one(cfg, "postmaster@empty.test", "amy@acme.test")
	one(cfg, "postmaster@own.test", "pm@own.test")
	remote, err := Open(s.dir, Options{Postmaster: "noc@provider.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	if got, err := remote.Resolve(ctx, "postmaster@acme.test"); err != nil || len(got) != 1 || got[0].Local || got[0].Address.String() != "noc@provider.example" {
		t.Errorf("remote postmaster: %v, %v", got, err)
	}
}
