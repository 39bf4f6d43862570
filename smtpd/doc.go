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
// A 250 after DATA means the queue has the message and its envelope on disk
// (see delivery.Queue.Enqueue).
package smtpd
