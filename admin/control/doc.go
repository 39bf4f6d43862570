// Package control is the control socket between mailctl and a running
// maild: HTTP/1.1 with JSON bodies over a Unix socket (mode 0600, for root
// and the daemon's user), and the submit socket beside it (mode 0660,
// group yubin-submit when that group exists) that serves only
// /v1/submit and a hostname-only /v1/status. Commands that need the daemon's live
// state (the queue, how the daemon routes an address, sendmail
// submission) go through it to the daemon's own code paths instead of
// re-implementing them in mailctl.
//
// The server side (NewServer, Listen) is wired by cmd/maild; the client
// side (Dial) is used by admin/cli. The server declares what it needs
// from the daemon as small interfaces: QueueControl (delivery.Queue),
// Submitter (the submission policy) and RouteResolver (storage.Store).
//
// # Protocol
//
//	GET    /v1/status              Status
//	GET    /v1/queue               []QueueEntry, oldest first
//	GET    /v1/queue/{id}          QueueEntry
//	POST   /v1/queue/{id}/retry    retry now; 204
//	POST   /v1/queue/retry         retry every queued message now; 204
//	DELETE /v1/queue/{id}          drop without notice; 204
//	POST   /v1/queue/{id}/bounce   fail now, a DSN goes to the sender; 204
//	POST   /v1/resolve             {"address": "..."} -> Route
//	POST   /v1/submit              SubmitRequest line + message -> SubmitResult
//
// Queue ids must satisfy delivery.ID.Valid (400 otherwise); an id that is
// not queued gives 404. Every error is a JSON object {"error": "..."}
// with a 4xx or 5xx status; a refused submission adds the SMTP reply
// code, the enhanced status code and whether the failure is temporary.
//
// /v1/submit streams: the request body is one line of JSON
// (SubmitRequest: envelope sender and recipients) ended by "\n", then the
// raw message, whose bare LFs become CRLF. The message is bounded by
// Options.MaxMessageBytes (smtp.max_message_bytes): 413 above it.
//
// Administering and submitting are apart. Anyone who can connect to the
// submit socket can submit mail with any sender, as with a traditional
// sendmail binary, and nothing else: its mode and group are the access
// control. The control socket can read and drop the queue: its mode keeps
// others out, and the server also refuses peers (SO_PEERCRED) other than
// root and its own user, whatever the mode. The peer's uid is logged with
// every change.
package control
