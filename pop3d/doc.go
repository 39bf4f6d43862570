// Package pop3d is Yubin's POP3 server: RFC 1939 (USER/PASS, STAT,
// LIST, RETR, DELE, NOOP, RSET, QUIT, TOP, UIDL), RFC 2449 (CAPA and
// response codes), RFC 2595 (STLS), RFC 8314 (implicit TLS on port 995)
// and RFC 5034 (AUTH PLAIN). It serves each user's INBOX from storage.
//
// # Behaviour
//
//   - A login needs TLS (STLS or port 995), except from loopback when
//     Options.PlaintextOnLoopback is set. Passwords go through the
//     Authenticator, in Yubin the login throttle IMAP and submission share.
//   - One POP3 session per maildrop (-ERR [IN-USE]); IMAP sessions on the
//     same mailbox are not blocked and see POP3 deletions after QUIT.
//   - The message list is fixed at login. DELE only marks; the messages
//     are expunged at QUIT (the UPDATE state). A dropped connection, an
//     idle timeout or Close deletes nothing; RSET unmarks.
//   - UIDL is "<UIDVALIDITY>.<UID>" of the IMAP index: stable across
//     sessions and restarts, and the same message IMAP sees.
//   - Sizes in STAT and LIST are exact: see message.go.
//   - Limits: line length, bad commands per session, idle timeout,
//     connections in total and per address. A panic in a session is
//     recovered and logged, and costs only that connection.
//
// # Files
//
// server.go listeners, connection limits and the maildrop lock;
// session.go the command loop, line reading and TLS; parse.go the command
// line parser; auth.go the AUTHORIZATION state (CAPA, STLS, USER, PASS,
// AUTH); transaction.go the TRANSACTION and UPDATE states; maildrop.go a
// session's view of the INBOX; message.go the octets RETR and TOP send.
package pop3d
