package wire

import "fmt"

// SyntaxError reports input that does not match the IMAP grammar or that
// exceeds one of the Reader's limits. The server answers it with a tagged
// BAD (untagged if the tag itself was unreadable) and, unless Fatal is set,
// calls Reader.Skip and reads the next command.
type SyntaxError struct {
	// Msg is a short description, safe to send to the client.
	Msg string
	// Code is an optional response code for the BAD reply, e.g. "TOOBIG"
	// (RFC 4469 §3, RFC 9051 §7.1) when a limit was exceeded.
	Code string
	// Fatal means the byte stream can no longer be resynchronised (a
	// non-synchronising literal too large to discard): the server should
	// send "* BYE" and close the connection.
	Fatal bool
}

func (e *SyntaxError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("imap syntax: [%s] %s", e.Code, e.Msg)
	}
	return "imap syntax: " + e.Msg
}

func syntaxErr(format string, args ...any) *SyntaxError {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...)}
}

func limitErr(format string, args ...any) *SyntaxError {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...), Code: "TOOBIG"}
}
