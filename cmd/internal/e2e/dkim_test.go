package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestDKIMGenerate runs `mailctl dkim generate` against a running maild's
// data directory: it prints one zone-file TXT line, `dkim show` prints it
// again, and a second generate needs --force.
func TestDKIMGenerate(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.mustMailctl("", "domain", "add", "acme.test")
	out := s.mustMailctl("", "dkim", "generate", "acme.test", "--selector", "mail2026")
	line := regexp.MustCompile(`^mail2026\._domainkey\.acme\.test\. IN TXT "v=DKIM1; k=rsa; p=[A-Za-z0-9+/]{200,}"( "[A-Za-z0-9+/=]+")+\n$`)
	if !line.MatchString(out) {
		t.Fatalf("dkim generate printed %q", out)
	}
	if show := s.mustMailctl("", "dkim", "show", "acme.test"); show != out {
		t.Errorf("dkim show = %q, want %q", show, out)
	}
	if _, errOut, err := s.mailctl("", "dkim", "generate", "acme.test"); err == nil || !strings.Contains(errOut, "--force") {
		t.Errorf("second generate: %v %q", err, errOut)
	}
	out = s.mustMailctl("", "dkim", "generate", "acme.test", "--algorithm", "ed25519", "--force")
	if !regexp.MustCompile(`^yubin\d{6}\._domainkey\.acme\.test\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="\n$`).MatchString(out) {
		t.Errorf("ed25519 record %q", out)
	}
	if out := s.mustMailctl("", "dkim", "list"); !strings.Contains(out, "acme.test") || !strings.Contains(out, "ed25519") {
		t.Errorf("dkim list: %q", out)
	}
}
