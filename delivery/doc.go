// Package delivery owns a message's way from acceptance to the mailbox: the
// durable queue, the local MDA and (later) the remote deliverer and DSNs.
//
// # Flow of one message
//
//  1. smtpd accepts DATA and calls [Queue.Enqueue] with the envelope and a
//     reader over the message (its Received header already prepended).
//  2. Enqueue streams the message into queue/tmp/<id>, fsyncs it, renames it
//     to queue/spool/<id>, fsyncs the directory and commits the envelope and
//     one row per recipient to queue/queue.db (synchronous=FULL). Only then
//     does it return, and only then does the client get its 250.
//  3. The message is handed to a worker at once (no polling). For each
//     pending recipient in a local domain, the [MDA] resolves aliases, plus
//     addressing and catch-alls through storage, prepends Return-Path and
//     Delivered-To and writes the message into each target's Maildir
//     (storage fsyncs file and directory, then updates the index). Each
//     target delivered is recorded in queue.db before the next, so a retry
//     never delivers twice to the same mailbox; a crash between the Maildir
//     rename and that record can at worst deliver once more.
//  4. Alias targets in remote domains become new recipient rows of the same
//     message and take the remote route.
//  5. A temporary failure leaves the recipient pending with an exponential
//     backoff (retry_min doubling up to retry_max); after max_age it fails.
//     A permanent failure fails the recipient at once. When no recipient is
//     pending, the record and the spool file are removed.
//
// # On disk
//
//	queue/tmp/<id>     being written; removed at start (never acknowledged)
//	queue/spool/<id>   acknowledged message bytes, exactly as received
//	queue/queue.db     messages, recipients (state, attempts, next attempt,
//	                   last error) and targets already delivered
//
// # Invariants
//
//   - A message is acknowledged only when its spool file, the spool
//     directory and its record are all durable.
//   - A spool file without a record was never acknowledged and is removed at
//     start; a record is removed only after its spool file's recipients are
//     all settled.
//   - After a restart every pending recipient is scheduled again.
package delivery
