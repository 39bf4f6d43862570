package e2e

import (
	"os"
	"testing"
)

// skipOrFail skips the test on a developer's machine but fails it when
// CI is set: in CI every tool and condition a test needs must be there.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
