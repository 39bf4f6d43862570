// Package imapd is Yubin's IMAP server, written from RFC 9051 (IMAP4rev2)
// and RFC 3501 (IMAP4rev1) and the RFCs of each extension it advertises,
// over storage's Maildir and per-account index. The wire syntax (command
// reader, response writer) is package imapd/wire; SORT and THREAD
// ordering is package imapd/thread; the DEFLATE reader of COMPRESS is
// package imapd/inflate. go-imap/v2 provides public types (imap.SeqSet,
// imap.FetchOptions, ...) and the client the tests use.
//
// # Structure
//
//   - server.go: the accept loop, the session registry and Close, which
//     ends every session with "* BYE" after its current command.
//   - session.go: one goroutine per connection; the state machine (not
//     authenticated, authenticated, selected, logout), the command loop,
//     and how a handler's result becomes a tagged response: nil is OK, a
//     *wire.SyntaxError is BAD (the rest of the command is skipped), an
//     *imap.Error is sent as it is, anything else is NO [SERVERBUG] and
//     logged. Unknown commands and commands in the wrong state are BAD,
//     never BYE.
//   - commands.go: the command table; caps.go: the capabilities, and
//     which ones ENABLE turns on. An extension adds its commands to the
//     table and its name to the capabilities, nothing else.
//   - One file per command family: auth.go, id.go, mailboxes.go, list.go,
//     status.go, append.go, quota.go, acl.go, compress_cmd.go, select.go,
//     idle.go, expunge.go, store.go, copymove.go, fetch.go, fetchbody.go,
//     search.go, sortthread.go.
//
// # Mailbox state
//
// Storage is the one source of truth. A selected session keeps only a
// view (view.go): its sequence number -> UID map and the MODSEQ of the
// mailbox's change log (storage/modseq.go) it has told the client about.
// After each command, and at once during IDLE, updates.go reads the log
// from there (storage.Account.Poll) and sends EXISTS, RECENT, EXPUNGE or
// VANISHED, and FETCH FLAGS for changes made by others, at the points
// RFC 9051 §7.5.1 allows (no EXPUNGE during FETCH, STORE or SEARCH by
// sequence number). Any process's changes are in the log (mailctl
// import, restore, verify --repair, files found by storage's Refresh), so
// nothing in this package can drift from storage. The storage observer
// (Server.Observe) carries no data: it only wakes idling sessions of the
// changed mailbox (notify.go). \Recent is claimed in storage
// (Account.ClaimRecent), so a message is recent in exactly one session
// even across processes.
//
// Sessions of one mailbox share its header cache (headercache.go): the
// envelope fields of messages, which never change, for ENVELOPE, SEARCH
// and SORT without reading files again.
//
// # Logins and transport
//
// Logins need TLS, except from loopback with Options.PlaintextOnLoopback;
// a client that may not log in yet is told LOGINDISABLED and no AUTH=
// before it sends a password. STARTTLS and COMPRESS refuse commands
// pipelined behind them. Output is buffered per session (64 KiB) and
// flushed once per command; every write has a deadline.
package imapd
