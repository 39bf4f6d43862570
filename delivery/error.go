package delivery

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/mattn/go-sqlite3"

	"yubin/storage"
)

// Error is a failure classified once: the SMTP reply, the DSN text and the
// retry decision all come from it. Functions return it last, as error;
// callers match it with errors.As.
type Error struct {
	// Code is the SMTP reply code (e.g. 550).
	Code int
	// Enhanced is the RFC 3463 status code (e.g. {5, 1, 1}).
	Enhanced [3]int
	// Temporary failures are retried; permanent ones bounce.
	Temporary bool
	// Public is the text safe to show to the peer.
	Public string
	// Err is the private detail for logs; may be nil.
	Err error
	// Remote names the remote host whose reply this is
	// ("mx.example.com[192.0.2.1]"), "" for failures decided here. For a
	// remote reply, Code, Enhanced and Public are the remote's own, and a
	// DSN quotes them as its Diagnostic-Code.
	Remote string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%d %d.%d.%d %s", e.Code, e.Enhanced[0], e.Enhanced[1], e.Enhanced[2], e.Public)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Temporaryf builds a temporary failure with a 451 code by default.
func Temporaryf(enhanced [3]int, public string, err error) *Error {
	return &Error{Code: 451, Enhanced: enhanced, Temporary: true, Public: public, Err: err}
}

// Permanentf builds a permanent failure with a 550 code by default.
func Permanentf(enhanced [3]int, public string, err error) *Error {
	return &Error{Code: 550, Enhanced: enhanced, Public: public, Err: err}
}

// AsError classifies err: a *Error inside it is returned as is; anything
// else (I/O errors, a full disk, a closed database) is a temporary local
// failure, so nothing is ever refused permanently by accident.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var de *Error
	if errors.As(err, &de) {
		return de
	}
	if errors.Is(err, storage.ErrBareCR) {
		return BareCR(err)
	}
	var sqlErr sqlite3.Error
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || (errors.As(err, &sqlErr) && sqlErr.Code == sqlite3.ErrFull) {
		// RFC 3463 §3.4: the system is out of storage; retry later.
		return &Error{Code: 452, Enhanced: [3]int{4, 3, 1}, Temporary: true, Public: "Insufficient system storage, try again later", Err: err}
	}
	return &Error{Code: 451, Enhanced: [3]int{4, 3, 0}, Temporary: true, Public: "Local error in processing, try again later", Err: err}
}

// BareCR is the refusal of a message with a bare CR (storage.ErrBareCR):
// RFC 5321 §2.3.8 allows CR only before LF, and a message is refused
// rather than rewritten so that the sender learns of it and no next hop
// ever sees the CR (SMTP smuggling ends data with one). RFC 3463 §3.7:
// 5.6.0, other or undefined media error.
func BareCR(err error) *Error {
	return &Error{Code: 554, Enhanced: [3]int{5, 6, 0}, Public: "Message contains a bare CR; line ends must be CRLF (RFC 5321 2.3.8)", Err: err}
}
