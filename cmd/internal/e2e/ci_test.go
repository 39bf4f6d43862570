package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// skipOrFail ends a test whose tool, peer or privilege is missing: on a
// developer's machine it skips, but with CI set it fails, because CI (and
// README's `make test`, which installs every package the tests use) must
// run every test.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (required when CI is set; `make deps` installs what the tests use)", msg)
	}
	t.Skip(msg)
}

// needRoot ends the test when it does not run as root (see skipOrFail).
func needRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root: %s", why)
	}
}

// needTool returns the path of a command the test runs (see skipOrFail).
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		skipOrFail(t, "%s not installed: %v", name, err)
	}
	return p
}
