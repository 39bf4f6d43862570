package config

import (
	"strings"
	"testing"
)

func TestOneSpamEngine(t *testing.T) {
	c := Default()
	c.Hostname = "mail.example.com"
	c.Filters.Spamd.Address = "127.0.0.1:783"
	if err := c.Validate(); err != nil {
		t.Fatalf("spamd only: %v", err)
	}
	c.Filters.Rspamd.Address = "http://127.0.0.1:11333"
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "filters.rspamd.address: only one spam engine") {
		t.Errorf("spamd and rspamd: %v", err)
	}
}

func TestMilterAddress(t *testing.T) {
	for in, want := range map[string]string{
		"tcp:127.0.0.1:11332":  "tcp 127.0.0.1:11332",
		"inet:11332@127.0.0.1": "tcp 127.0.0.1:11332",
		"unix:/run/m.sock":     "unix /run/m.sock",
		"/run/m.sock":          "unix /run/m.sock",
		"127.0.0.1:8891":       "tcp 127.0.0.1:8891",
	} {
		n, a, err := ParseMilterAddress(in)
		if err != nil || n+" "+a != want {
			t.Errorf("%q: %s %s %v, want %s", in, n, a, err, want)
		}
	}
	for _, bad := range []string{"tcp:nohost", "unix:", "garbage"} {
		if _, _, err := ParseMilterAddress(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	c := Default()
	c.Hostname = "mail.example.com"
	c.Filters.Milter.Address = "tcp:nohost"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "filters.milter.address") {
		t.Errorf("bad milter address: %v", err)
	}
}
