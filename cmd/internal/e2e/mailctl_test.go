package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestMailctlManagesDirectoryWhileRunning(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")

	// maild --dev created the demo domain and user and printed the
	// password once.
	if !regexp.MustCompile(`Demo user created: demo@example\.test\nPassword \(shown once\): \S{20,}`).MatchString(s.stdout.String()) {
		t.Errorf("dev start did not print the demo credentials: %q", s.stdout.String())
	}

	s.mustMailctl("", "domain", "add", "Acme.TEST")
	out := s.mustMailctl("", "domain", "list", "--json")
	var domains []struct{ Name string }
	if err := json.Unmarshal([]byte(out), &domains); err != nil {
		t.Fatalf("domain list --json: %v\n%s", err, out)
	}
	if len(domains) != 2 || domains[0].Name != "acme.test" || domains[1].Name != "example.test" {
		t.Errorf("domains = %+v, want acme.test and example.test (normalised, sorted)", domains)
	}

	s.mustMailctl("pw-one\n", "user", "add", "Mallory@acme.test", "--password-stdin", "--quota", "2G")
	var users []struct {
		Address    string `json:"address"`
		QuotaBytes int64  `json:"quota_bytes"`
	}
	out = s.mustMailctl("", "user", "list", "acme.test", "--json")
	if err := json.Unmarshal([]byte(out), &users); err != nil {
		t.Fatalf("user list --json: %v\n%s", err, out)
	}
	if len(users) != 1 || users[0].Address != "mallory@acme.test" || users[0].QuotaBytes != 2<<30 {
		t.Errorf("users = %+v", users)
	}
	for _, f := range []string{"cur", "new", "tmp", ".Sent/cur", ".Drafts/new", ".Trash/tmp", ".Junk/cur", ".Archive/cur"} {
		if _, err := os.Stat(filepath.Join(s.maildir("mallory@acme.test"), f)); err != nil {
			t.Errorf("Maildir++ folder missing: %v", err)
		}
	}

	// Errors go to stderr with a non-zero exit.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "add", "x@unknown.test", "--password-stdin"}, "unknown.test"},
		{[]string{"user", "add", "mallory@acme.test", "--password-stdin"}, "exists"},
		{[]string{"user", "add", "not-an-address", "--password-stdin"}, "not-an-address"},
		{[]string{"user", "add", "../etc@acme.test", "--password-stdin"}, "etc"},
		{[]string{"user", "remove", "nobody@acme.test"}, "nobody@acme.test"},
		{[]string{"domain", "remove", "acme.test"}, "acme.test"},
		{[]string{"alias", "add", "x@notlocal.test", "y@acme.test"}, "notlocal.test"},
		{[]string{"user", "quota", "mallory@acme.test", "lots"}, "lots"},
	} {
		stdout, stderr, err := s.mailctl("pw\n", tc.args...)
		var ee *exec.ExitError
		if err == nil || !asExit(err, &ee) {
			t.Errorf("mailctl %v: want non-zero exit, got %v (stdout %q)", tc.args, err, stdout)
			continue
		}
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("mailctl %v: stderr %q lacks %q", tc.args, stderr, tc.want)
		}
	}

	// The running server sees directory changes at once: a new user
	// receives mail, a removed one is refused.
	s.mustMailctl("pw\n", "user", "add", "niaj@acme.test", "--password-stdin")
	if err := sendWithGo(s.smtpAddr(), "x@remote.test", []string{"niaj@acme.test"}, []byte("Subject: hi\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	s.waitDelivered("niaj@acme.test", 1)
	s.mustMailctl("", "user", "remove", "niaj@acme.test")
	wantSMTPError(t, sendWithGo(s.smtpAddr(), "x@remote.test", []string{"niaj@acme.test"}, []byte("Subject: hi\r\n\r\nhi\r\n")), 550, [3]int{5, 1, 1})

	out = s.mustMailctl("", "alias", "list", "--json")
	if !strings.Contains(out, `"postmaster@example.test"`) {
		t.Errorf("demo postmaster alias missing: %s", out)
	}
	s.mustMailctl("new-pw\n", "user", "passwd", "mallory@acme.test", "--password-stdin")
}

// TestMailctlWithServerStopped shows mailctl working on a stopped server's
// data directory and a restarted maild using the result.
func TestMailctlWithServerStopped(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.stop()
	s.mustMailctl("", "domain", "add", "offline.test")
	s.mustMailctl("pw\n", "user", "add", "olga@offline.test", "--password-stdin")
	s.start()
	if err := sendWithGo(s.smtpAddr(), "x@remote.test", []string{"olga@offline.test"}, []byte("Subject: hi\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	s.waitDelivered("olga@offline.test", 1)
	// A second dev start does not print a new demo password.
	if strings.Contains(s.stdout.String(), "Password") {
		t.Errorf("restart printed the demo password again: %q", s.stdout.String())
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok && e.ExitCode() != 0
}
