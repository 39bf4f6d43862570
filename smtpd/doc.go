// Package smtpd is the SMTP session core shared by the inbound MX (port 25)
// and, through a Policy, by submission (587/465).
//
// It is built on go-smtp. What it adds: a listener wrapper that enforces
// connection limits (total and per IP) and gives every connection an id
// before go-smtp creates its session at EHLO; a Session that asks its Policy
// about MAIL and RCPT, prepends the Received header and streams DATA into
// the queue; and one mapping from delivery.Error to SMTP replies.
//
// A 250 after DATA means the queue has the message and its envelope on disk
// (see delivery.Queue.Enqueue).
package smtpd
