package delivery

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SRS is the Sender Rewriting Scheme for mail Yubin forwards to other
// domains (alias targets elsewhere, Sieve redirects): the envelope
// sender a@b.example becomes SRS0=HHHHHH=TT=b.example=a@Domain, so the
// receiver's SPF check is made against our domain, and a bounce sent to
// that address comes back to us and is returned to a@b.example.
//
// HHHHHH is an HMAC-SHA256 (base32, compared case-insensitively) over
// the timestamp, domain and local part; TT is the day (base32, modulo
// 1024). Reverse refuses an address with a wrong hash or older than
// MaxAge, so the scheme is no open relay. Forwarding an SRS address
// again wraps it in another SRS0 (no SRS1 shortcut).
type SRS struct {
	// Key is the HMAC secret (LoadSRSKey).
	Key []byte
	// Domain is the domain of the rewritten addresses: ours.
	Domain string
	// MaxAge is how long a rewritten address accepts bounces (0 = 21
	// days).
	MaxAge time.Duration
	// Now is the clock (nil = time.Now), for tests.
	Now func() time.Time
}

// ErrSRSInvalid is returned by Reverse for a forged, damaged or expired
// SRS address.
var ErrSRSInvalid = errors.New("invalid or expired SRS address")

const (
	srsHashLen = 6
	srsDays    = 1024
)

var srsB32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func (s *SRS) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *SRS) maxDays() int {
	if s.MaxAge <= 0 {
		return 21
	}
	return int(s.MaxAge / (24 * time.Hour))
}

func (s *SRS) hash(ts, domain, local string) string {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(strings.ToLower(ts + "=" + domain + "=" + local)))
	return strings.ToLower(srsB32.EncodeToString(m.Sum(nil))[:srsHashLen])
}

func srsStamp(t time.Time) string {
	day := (t.Unix() / 86400) % srsDays
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	return string([]byte{alphabet[day>>5], alphabet[day&31]})
}

func srsDay(ts string) (int64, bool) {
	if len(ts) != 2 {
		return 0, false
	}
	var d int64
	for _, c := range strings.ToLower(ts) {
		var v int64
		switch {
		case c >= 'a' && c <= 'z':
			v = int64(c - 'a')
		case c >= '2' && c <= '7':
			v = int64(c-'2') + 26
		default:
			return 0, false
		}
		d = d<<5 | v
	}
	return d, true
}

// Forward rewrites the envelope sender from; the null sender and
// addresses without a domain are returned as they are.
func (s *SRS) Forward(from string) string {
	at := strings.LastIndexByte(from, '@')
	if from == "" || at <= 0 || at == len(from)-1 {
		return from
	}
	local, domain := from[:at], from[at+1:]
	ts := srsStamp(s.now())
	return "SRS0=" + s.hash(ts, domain, local) + "=" + ts + "=" + domain + "=" + local + "@" + s.Domain
}

// IsSRS reports whether addr is an SRS0 address in our domain (whether
// or not it is valid).
func (s *SRS) IsSRS(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || !strings.EqualFold(addr[at+1:], s.Domain) {
		return false
	}
	return len(addr) > 5 && strings.EqualFold(addr[:5], "SRS0=")
}

// Reverse returns the original sender of an SRS address made by Forward,
// or ErrSRSInvalid.
func (s *SRS) Reverse(addr string) (string, error) {
	if !s.IsSRS(addr) {
		return "", ErrSRSInvalid
	}
	local := addr[5:strings.LastIndexByte(addr, '@')]
	parts := strings.SplitN(local, "=", 4)
	if len(parts) != 4 || parts[2] == "" || parts[3] == "" {
		return "", ErrSRSInvalid
	}
	h, ts, domain, user := parts[0], parts[1], parts[2], parts[3]
	if !hmac.Equal([]byte(strings.ToLower(h)), []byte(s.hash(ts, domain, user))) {
		return "", fmt.Errorf("%w: bad hash", ErrSRSInvalid)
	}
	day, ok := srsDay(ts)
	if !ok {
		return "", fmt.Errorf("%w: bad timestamp", ErrSRSInvalid)
	}
	today := (s.now().Unix() / 86400) % srsDays
	if age := (today - day + srsDays) % srsDays; age > int64(s.maxDays()) {
		return "", fmt.Errorf("%w: expired (%d days old)", ErrSRSInvalid, age)
	}
	return user + "@" + domain, nil
}

// LoadSRSKey reads the SRS secret from path, creating it (32 random
// bytes, mode 0600) on first use.
func LoadSRSKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) < 16 {
			return nil, fmt.Errorf("srs key %s: too short (%d bytes)", path, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("srs key: %w", err)
	}
	key = make([]byte, 32)
	rand.Read(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("srs key: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, key, 0o600); err != nil {
		return nil, fmt.Errorf("srs key: %w", err)
	}
	if f, err := os.Open(tmp); err == nil {
		f.Sync()
		f.Close()
	}
	// Link, not rename: a concurrent first start keeps the key that won.
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, os.ErrExist) {
		os.Remove(tmp)
		return nil, fmt.Errorf("srs key: %w", err)
	}
	os.Remove(tmp)
	return os.ReadFile(path)
}
