package delivery

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testSRS(now time.Time) *SRS {
	return &SRS{Key: []byte("0123456789abcdef0123456789abcdef"), Domain: "mail.example.com", Now: func() time.Time { return now }}
}

func TestSRSRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := testSRS(now)
	for _, from := range []string{"alice@example.org", "Bob.Smith+tag@Sub.Example.NET", "we=ird@example.org"} {
		fwd := s.Forward(from)
		if !strings.HasPrefix(fwd, "SRS0=") || !strings.HasSuffix(fwd, "@mail.example.com") {
			t.Fatalf("Forward(%q) = %q", from, fwd)
		}
		if !s.IsSRS(fwd) {
			t.Errorf("IsSRS(%q) = false", fwd)
		}
		back, err := s.Reverse(fwd)
		if err != nil || back != from {
			t.Errorf("Reverse(%q) = %q, %v; want %q", fwd, back, err, from)
		}
		// Receivers may change the case of the address.
		if back, err := s.Reverse(strings.ToLower(fwd)); err != nil || !strings.EqualFold(back, from) {
			t.Errorf("Reverse(lower %q) = %q, %v", fwd, back, err)
		}
		// Still valid 21 days later, not 22.
		later := testSRS(now.Add(21 * 24 * time.Hour))
		if _, err := later.Reverse(fwd); err != nil {
			t.Errorf("21 days: %v", err)
		}
		expired := testSRS(now.Add(22 * 24 * time.Hour))
		if _, err := expired.Reverse(fwd); !errors.Is(err, ErrSRSInvalid) {
			t.Errorf("22 days: %v", err)
		}
	}
	if got := s.Forward(""); got != "" {
		t.Errorf("null sender rewritten to %q", got)
	}
	// Forwarding an SRS address again wraps it and still reverses.
	first := s.Forward("alice@example.org")
	other := &SRS{Key: []byte("another key, another forwarder!!"), Domain: "fwd.example.net", Now: s.Now}
	second := other.Forward(first)
	if back, err := other.Reverse(second); err != nil || back != first {
		t.Errorf("double: %q %v", back, err)
	}
}

func TestSRSRejects(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := testSRS(now)
	good := s.Forward("alice@example.org")
	hash := strings.Split(good, "=")[1]
	for _, bad := range []string{
		strings.Replace(good, "alice", "mallory", 1),           // other sender, same hash
		strings.Replace(good, hash, "aaaaaa", 1),               // forged hash
		strings.Replace(good, "example.org", "example.net", 1), // other domain
		"SRS0=abcdef=zz=example.org@mail.example.com",          // too few fields
		"SRS0=@mail.example.com",
		"alice@mail.example.com",
		strings.Replace(good, "@mail.example.com", "@other.example", 1),
	} {
		if got, err := s.Reverse(bad); err == nil {
			t.Errorf("Reverse(%q) = %q, want error", bad, got)
		}
	}
	wrongKey := &SRS{Key: []byte("a different secret key.........."), Domain: s.Domain, Now: s.Now}
	if _, err := wrongKey.Reverse(good); !errors.Is(err, ErrSRSInvalid) {
		t.Errorf("other key: %v", err)
	}
}

func TestSRSKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "srs.key")
	k1, err := LoadSRSKey(path)
	if err != nil || len(k1) != 32 {
		t.Fatalf("LoadSRSKey = %d bytes, %v", len(k1), err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, %v", fi.Mode(), err)
	}
	k2, err := LoadSRSKey(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("second load differs: %v", err)
	}
	os.WriteFile(path, []byte("short"), 0o600)
	if _, err := LoadSRSKey(path); err == nil {
		t.Error("short key accepted")
	}
}

// A bounce to a valid SRS address is handed back as a remote recipient
// (the original sender); a forged one is refused with 550 5.1.1.
func TestMDASRSBounce(t *testing.T) {
	s := &SRS{Key: []byte("0123456789abcdef0123456789abcdef"), Domain: "mail.example.com"}
	mda := NewMDA(nil, nil)
	mda.SetSRS(s)
	ctx := context.Background()
	fwd := s.Forward("alice@example.org")
	if ok, err := mda.Accepts(ctx, fwd); !ok || err != nil {
		t.Fatalf("Accepts(%q) = %v, %v", fwd, ok, err)
	}
	m := &Spooled{ID: "ABCDEFGH"}
	remote, err := mda.Deliver(ctx, m, fwd)
	if err != nil || len(remote) != 1 || remote[0] != "alice@example.org" {
		t.Errorf("Deliver = %v, %v", remote, err)
	}
	_, err = mda.Deliver(ctx, m, strings.Replace(fwd, "alice", "mallory", 1))
	if e := AsError(err); e == nil || e.Code != 550 || e.Enhanced != [3]int{5, 1, 1} || e.Temporary {
		t.Errorf("forged: %v", err)
	}
}

// Forward round trip through the queue: mail from a foreign sender to an
// alias with a remote target leaves with an SRS sender; a bounce to that
// SRS address is returned to the original sender.
func TestSRSForwardRoundTrip(t *testing.T) {
	s := startSink(t, sinkOptions{})
	srs := &SRS{Key: []byte("0123456789abcdef0123456789abcdef"), Domain: "mail.acme.test"}
	var e *remoteEnv
	e = newRemoteEnv(t, oneMX("remote.test", "example.org"), s.port, func(o *Options, ro *RemoteOptions) {
		o.Local.(*MDA).SetSRS(srs)
		ro.RewriteSender = func(from string) string {
			at := strings.LastIndexByte(from, '@')
			if from == "" || at < 0 {
				return from
			}
			if local, err := e.st.IsLocalDomain(context.Background(), from[at+1:]); err != nil || local {
				return from
			}
			return srs.Forward(from)
		}
	})
	ctx := context.Background()
	if err := e.st.AddAlias(ctx, "fwd@acme.test", []string{"bob@remote.test"}); err != nil {
		t.Fatal(err)
	}
	id := e.send(t, "carol@example.org", "fwd@acme.test")
	e.waitSettled(t, id)
	// Our own users' mail keeps its sender.
	id = e.send(t, "alice@acme.test", "bob@remote.test")
	e.waitSettled(t, id)
	msgs := s.messages()
	if len(msgs) != 2 {
		t.Fatalf("sink got %d messages", len(msgs))
	}
	var srsFrom string
	for _, m := range msgs {
		switch m.From {
		case "alice@acme.test":
		default:
			srsFrom = m.From
		}
	}
	if !strings.HasPrefix(srsFrom, "SRS0=") || !strings.HasSuffix(srsFrom, "=example.org=carol@mail.acme.test") {
		t.Fatalf("forwarded sender %q, want an SRS0 address", srsFrom)
	}
	// The remote host bounces to the SRS address: back to carol.
	id = e.send(t, "", srsFrom)
	e.waitSettled(t, id)
	msgs = s.messages()
	if len(msgs) != 3 || msgs[2].From != "" || len(msgs[2].To) != 1 || msgs[2].To[0] != "carol@example.org" {
		t.Fatalf("bounce delivered as %+v", msgs[len(msgs)-1])
	}
}
