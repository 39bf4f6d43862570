package storage

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSieveFileintoNames: a script filing into a name storage cannot
// hold is refused when saved (it used to be saved, and matching mail was
// then deferred for days and bounced).
func TestSieveFileintoNames(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newTestStore(t)
	mustDomain(t, s, "acme.test")
	if _, err := s.AddUser(ctx, "ann@acme.test", "pw-secret-1", 0); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`require "fileinto"; fileinto "Projects.2024";`,
		`require "fileinto"; if true { if true { fileinto ".Hidden"; } }`,
		`require ["fileinto", "imap4flags"]; fileinto :flags "\\Seen" "A//B";`,
		`require "fileinto"; FileInto "Bad*Name";`,
		`require "fileinto"; fileinto "";`,
	} {
		err := s.SetSieve(ctx, "ann@acme.test", bad)
		if err == nil || !strings.Contains(err.Error(), "fileinto") {
			t.Errorf("SetSieve(%q) = %v, want a fileinto error", bad, err)
		}
	}
	for _, good := range []string{
		`require "fileinto"; fileinto "Projects/2024";`,
		`require "fileinto"; fileinto "INBOX";`,
		`require ["fileinto", "imap4flags"]; fileinto :flags "\\Seen" "Archiv/Rechnungen";`,
		`require ["fileinto", "variables"]; set "y" "2024"; fileinto "Projects.${y}";`,
	} {
		if err := s.SetSieve(ctx, "ann@acme.test", good); err != nil {
			t.Errorf("SetSieve(%q) = %v", good, err)
		}
	}
}

func TestSieveScripts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newTestStore(t)
	mustDomain(t, s, "acme.test")
	if _, err := s.AddUser(ctx, "ann@acme.test", "pw-secret-1", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sieve(ctx, "ann@acme.test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Sieve before set: %v, want ErrNotFound", err)
	}
	if err := s.SetSieve(ctx, "ann@acme.test", `if header :is "x" "y" { fileinto "Foo"; }`); err == nil {
		t.Fatal("fileinto without require accepted")
	}
	if err := s.SetSieve(ctx, "ann@acme.test", `if header { stop`); err == nil {
		t.Fatal("broken script accepted")
	}
	if err := s.SetSieve(ctx, "nobody@acme.test", `keep;`); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("SetSieve unknown user: %v, want ErrNoSuchUser", err)
	}
	script := "require \"fileinto\";\nif address :is \"from\" \"boss@x.test\" { fileinto \"Boss\"; }\n"
	if err := s.SetSieve(ctx, "Ann@ACME.test", script); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Sieve(ctx, "ann@acme.test"); err != nil || got != script {
		t.Fatalf("Sieve = %q, %v", got, err)
	}
	if err := s.SetSieve(ctx, "ann@acme.test", "keep;"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Sieve(ctx, "ann@acme.test"); got != "keep;" {
		t.Fatalf("replaced Sieve = %q", got)
	}
	if err := s.RemoveSieve(ctx, "ann@acme.test"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveSieve(ctx, "ann@acme.test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second RemoveSieve: %v", err)
	}
	// Removing the user removes the script.
	if err := s.SetSieve(ctx, "ann@acme.test", "keep;"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUser(ctx, "ann@acme.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sieve(ctx, "ann@acme.test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Sieve after user removal: %v", err)
	}
}

func TestVacation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newTestStore(t)
	mustDomain(t, s, "acme.test")
	if _, err := s.AddUser(ctx, "ann@acme.test", "pw-secret-1", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Vacation(ctx, "ann@acme.test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Vacation before set: %v", err)
	}
	if err := s.SetVacation(ctx, "ann@acme.test", Vacation{Subject: "a\r\nBcc: x", Message: "m"}); err == nil {
		t.Fatal("subject with CRLF accepted")
	}
	until := time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
	if err := s.SetVacation(ctx, "ann@acme.test", Vacation{Subject: "Away", Message: "Back soon", Until: until}); err != nil {
		t.Fatal(err)
	}
	v, err := s.Vacation(ctx, "ann@acme.test")
	if err != nil || v.Subject != "Away" || v.Message != "Back soon" || !v.Until.Equal(until) || v.Days != DefaultVacationDays {
		t.Fatalf("Vacation = %+v, %v", v, err)
	}
	if !v.Active(until.Add(-time.Hour)) || v.Active(until) {
		t.Fatal("Active around Until wrong")
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	claim := func(sender string, at time.Time) bool {
		ok, err := s.ClaimVacationReply(ctx, "ann@acme.test", sender, 7, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim("bob@x.test", now) {
		t.Fatal("first reply not claimed")
	}
	if claim("BOB@x.test", now.Add(6*24*time.Hour)) {
		t.Fatal("second reply within 7 days claimed")
	}
	if !claim("carl@x.test", now) {
		t.Fatal("other sender not claimed")
	}
	if !claim("bob@x.test", now.Add(7*24*time.Hour)) {
		t.Fatal("reply after 7 days not claimed")
	}
	// A new setting resets the history.
	if err := s.SetVacation(ctx, "ann@acme.test", Vacation{Subject: "Away", Message: "New text", Days: 3}); err != nil {
		t.Fatal(err)
	}
	if !claim("bob@x.test", now.Add(7*24*time.Hour+time.Minute)) {
		t.Fatal("reply after new vacation not claimed")
	}
	if err := s.RemoveVacation(ctx, "ann@acme.test"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveVacation(ctx, "ann@acme.test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second RemoveVacation: %v", err)
	}
}
