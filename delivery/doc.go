// Package delivery owns a message's way from acceptance to the mailbox: the
// durable queue, the local MDA, the remote deliverer and DSNs.
//
// # Flow of one message
//
//  1. smtpd accepts DATA and calls [Queue.Enqueue] with the envelope and a
//     reader over the message (its Received header already prepended).
//  2. Enqueue streams the message into a file in queue/tmp/ (an emptied one
//     from the pool when there is one, see recycle.go; for a message whose
//     one recipient resolves to one local user, the MDA's delivery header
//     comes first, see [Prefixer]), fsyncs it, renames it to
//     queue/spool/<id>, then hands its record to the committer, which
//     fsyncs the directory and commits the envelope and one row per
//     recipient to queue/queue.db (synchronous=FULL) for every Enqueue
//     waiting at once (group commit: one directory fsync and one commit per
//     batch). Only then does it return, and only then does the client get
//     its 250.
//  3. The message is handed to a worker at once (no polling). For each
//     pending recipient in a local domain, the [MDA] resolves aliases, plus
//     addressing and catch-alls through storage, prepends Return-Path and
//     Delivered-To and writes the message into each target's Maildir
//     (storage fsyncs file and directory, then updates the index); a spool
//     file that already starts with exactly that header is hard-linked
//     into the Maildir instead (written once, never copied). Each
//     target delivered is marked, and the mark is in queue.db before the
//     message is delivered anywhere else (or else written with the
//     attempt's outcome, step 6), so a retry never delivers twice to the
//     same mailbox; a crash between the Maildir rename and that record can
//     at worst deliver once more.
//  4. Alias targets in remote domains become new recipient rows of the same
//     message and take the remote route.
//  5. Remote recipients are grouped by domain: the [RemoteDeliverer] gets
//     all due recipients of the message in one domain at once and returns
//     one outcome per recipient. [Remote] finds the hosts (MX by
//     preference, random among equals; the domain itself without MX; a
//     null MX fails 5.1.10; NXDOMAIN fails, SERVFAIL defers), or the
//     smarthost; reuses an idle connection to the host (RSET) or dials
//     one, with opportunistic STARTTLS (any certificate; a failed
//     handshake redials in plaintext); waits for a per-domain connection
//     slot and rate-limit token; and runs MAIL, one RCPT per recipient and
//     DATA streamed from the spool file. A host that cannot be reached or
//     refuses at greeting/EHLO passes the message to the next host.
//  6. A temporary failure leaves the recipient pending with an exponential
//     backoff (retry_min doubling up to retry_max); after max_age it fails.
//     A permanent failure fails the recipient at once. Recipients failed in
//     one attempt get one DSN (RFC 3464 multipart/report, from <> to the
//     sender, enqueued here before they are marked failed); recipients
//     still deferred after delay_notice get one delay notice per message.
//     Mail from the null sender never gets a DSN. The outcome of an attempt
//     (recipient states, backoff, new alias recipients, marks not yet
//     written) is one queue.db transaction, which also deletes the record
//     when no recipient is left pending; then the spool file is removed,
//     or emptied into the pool if it has no other link.
//     Workers hand these writes to the committer of step 2, so they share
//     commits with each other and with Enqueue: a message delivered to one
//     local mailbox costs a share of one commit after its acceptance.
//  7. One worker at a time holds a message (msgLocks); the control API
//     (Show, Retry, Delete, Bounce) waits for it.
//
// # On disk
//
//	queue/tmp/<id>     being written; removed at start (never acknowledged)
//	queue/tmp/free.*   emptied spool files kept for reuse (kept at start)
//	queue/spool/<id>   acknowledged message bytes in the one stored form
//	                   (storage.CanonicalReader: CRLF line ends),
//	                   after the delivery header when there is one
//	queue/queue.db     messages (with delay_notified and the delivery
//	                   header's length, prefix), recipients (state,
//	                   attempts, next attempt, last error) and targets
//	                   already delivered; schema versioned by PRAGMA
//	                   user_version, migrated at Open (migrations)
//
// # Invariants
//
//   - Every message is spooled in the one stored form: Enqueue makes it
//     canonical whoever hands it over (smtpd has refused bare CRs
//     already; DSNs, redirects and alias forwards are made canonical), and
//     queue.db marks such a spool file (canonical), the only kind linked
//     into a Maildir. The remote client canonicalises again while sending,
//     so nothing leaves with a bare CR or LF, even from a spool file
//     written by an older Yubin.
//   - A message is acknowledged only when its spool file, the spool
//     directory and its record are all durable.
//   - A spool file without a record was never acknowledged and is removed at
//     start; a record is removed only after its spool file's recipients are
//     all settled.
//   - After a restart every pending recipient is scheduled again.
//   - A spool file with another link (a Maildir message) is never written
//     again: it is unlinked, not emptied for reuse.
//   - A recipient is settled (delivered or failed) exactly once; a DSN is
//     durable before its recipients are marked failed, so a crash can
//     repeat a DSN but never lose one.
package delivery
