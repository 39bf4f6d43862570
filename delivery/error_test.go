package delivery

import (
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

func TestAsErrorClassifiesFullDisk(t *testing.T) {
	t.Parallel()
	full := &fs.PathError{Op: "write", Path: "/var/lib/yubin/queue/tmp/X", Err: syscall.ENOSPC}
	if e := AsError(fmt.Errorf("spool: %w", full)); e.Code != 452 || e.Enhanced != [3]int{4, 3, 1} || !e.Temporary {
		t.Errorf("full disk = %+v, want 452 4.3.1 temporary", e)
	}
	if e := AsError(fmt.Errorf("other")); e.Code != 451 || e.Enhanced != [3]int{4, 3, 0} || !e.Temporary {
		t.Errorf("other error = %+v, want 451 4.3.0 temporary", e)
	}
	perm := Permanentf([3]int{5, 1, 1}, "no", nil)
	if e := AsError(fmt.Errorf("wrapped: %w", perm)); e != perm {
		t.Errorf("a *Error inside is returned as is, got %+v", e)
	}
}
