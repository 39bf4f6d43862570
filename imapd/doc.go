// Package imapd is the IMAP server: a go-imap/v2 imapserver backend over
// storage's Maildir and per-account index.
//
// # Implementation notes
//
// Sessions never hold mailbox state of their own beyond a view: the UIDs
// and flags live in storage. What IMAP needs in memory is the sequence
// number mapping and the updates pending for each client, kept per open
// mailbox in a registry (registry.go):
//
//   - storage publishes every change (delivery, APPEND, COPY/MOVE, flag
//     changes, expunges, and files found by a rescan) to an Observer,
//     called under the account's write lock, so changes arrive in the order
//     they were made;
//   - the registry applies each change to the mailbox's UID list and queues
//     the matching update (EXISTS, EXPUNGE, FETCH FLAGS) on its
//     imapserver.MailboxTracker under the mailbox lock, so the tracker's
//     count and the UID list never disagree (the tracker panics otherwise);
//   - each selected session has an imapserver.SessionTracker that turns
//     those updates into responses at the points the RFC allows (never an
//     EXPUNGE during FETCH, STORE or SEARCH);
//   - an idling session sends what is queued at once, then waits on the
//     mailbox's change channel (closed under the mailbox lock whenever
//     updates are queued), so nothing queued before IDLE waits for the
//     next change or for DONE.
//
// Where go-imap's imapserver falls short, this package does the work
// itself: LIST patterns are matched in linear time (listmatch.go), SEARCH
// decodes RFC 2047 words and folds case (fold.go), APPEND stores nothing
// from a literal cut short, and Close sends every session "* BYE".
//
// Lock order: storage's account lock, then a mailbox's lock. Code in this
// package never calls storage while holding a mailbox lock.
//
// Changes by other programs (a tool writing the Maildir) are found by
// storage.Account.Refresh, a cheap directory check run on NOOP, IDLE
// start and SELECT.
//
// Logins need TLS, except from loopback with Options.PlaintextOnLoopback.
// A client that may not log in yet is told so before it sends a password:
// LOGINDISABLED and no AUTH= until STARTTLS. go-imap decides that per
// server, so with PlaintextOnLoopback a plain listener feeds two
// imapserver.Servers, one for loopback clients (loopback.go).
package imapd
