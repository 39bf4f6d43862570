// Package smtpd is the SMTP session core shared by the inbound MX (port 25)
// and, through a Policy, by submission (587/465).
//
// It is built on go-smtp. What it adds: a listener wrapper that enforces
// connection limits (total and per client, an IPv4 address or an IPv6 /64,
// counted in a Limits that several listeners and Servers can share) and
// gives every connection an id before go-smtp creates its session at EHLO;
// a count of commands that send no mail (go-smtp answers NOOP, RSET, VRFY,
// HELP and EXPN itself, so the count sits in that wrapper, fed back by the
// session for MAIL, RCPT, DATA and AUTH), past which the connection gets
// 421 4.7.0 and is closed; a DATA timeout answered with 421 4.4.2 and a
// closed connection; a Session that asks its Policy
// about MAIL and RCPT, prepends the Received header and streams DATA into
// the queue; and one mapping from delivery.Error to SMTP replies.
//
// Every message is read through storage.CanonicalReader in strict mode
// (DATA and BDAT, MX and submission alike): a bare LF becomes CRLF, a
// bare CR refuses the message with 554 5.6.0 (RFC 5321 §2.3.8; refusing,
// not rewriting, tells the sender and keeps the CR from any next hop,
// where it could end the data early: SMTP smuggling). A line of a dot
// ended by a bare LF or CR, which go-smtp's DATA reader would unstuff by
// dropping bytes, is refused the same way: each connection is served by
// a go-smtp Server of its own whose Debug tee feeds a data guard
// (dataguard.go) with the connection's plain text.
//
// A 250 after DATA means the queue has the message and its envelope on disk
// (see delivery.Queue.Enqueue).
package smtpd
