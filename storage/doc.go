// Package storage owns Yubin's persistent state: the directory database
// (domains, users, aliases, password hashes, quotas), address
// normalisation, the Maildir++ tree, and a per-account message index.
//
// It imports no other Yubin package and no protocol library. Protocol
// packages (smtpd, delivery, imapd, pop3d) declare the small interfaces
// they need and are handed a *Store or *Account by cmd/maild.
//
// # On-disk layout
//
//	<dataDir>/                      0700, created by Open; files 0600
//	    yubin.db (+ -wal, -shm)      directory database (SQLite, WAL)
//	    mail/<domain>/<local>/       one Maildir++ per user (INBOX)
//	        cur/ new/ tmp/
//	        .Sent/ .Drafts/ .Trash/ .Junk/ .Archive/
//	            cur/ new/ tmp/ maildirfolder
//	        .A.B/                    IMAP mailbox "A/B"
//	        yubin-index.db           the account's message index and change log (SQLite)
//	        yubin-uidvalidity        last UIDVALIDITY issued
//
// <domain> is the NormalizeDomain (ASCII, lower-case) form and <local>
// passed ValidAccountLocal, so paths are built from validated names only.
// Message files follow the Maildir convention that Dovecot and mutt use:
// "<sec>.M<usec>P<pid>Q<n>R<rand>.<host>,S=<size>" in new/, and with a
// ":2,<flags>" info suffix in cur/ (D draft, F flagged, P forwarded,
// R answered, S seen, T deleted). Another tool pointed at the same Maildir
// sees the same mail.
//
// # Invariants
//
// One stored form: every message file Yubin writes holds the message with
// CRLF line ends, no bare CR or LF, and a last line ended by CRLF
// (CanonicalReader; Deliver applies it, and callers decide strictness
// where the message enters). Files other tools wrote are read through
// CanonicalReader and indexed with their canonical size (wireSize), so
// RFC822.SIZE, BODY[], POP3 LIST, STATUS SIZE and quota agree for every
// message. An index from before (user_version 1) is recounted once at
// the first open (recountSizesLocked); Verify finds and repairs sizes too.
//
// Change log: every change to a message (new, flags/keywords, expunge)
// takes its mailbox's next MODSEQ (RFC 7162), recorded on the message,
// as the mailbox's HIGHESTMODSEQ and as a changelog row, in the index
// transaction of the change, whichever process or path makes it
// (Deliver, Copy, SetFlags/StoreFlags/UpdateFlags, Expunge, a rescan
// by Refresh, Rescan or mailctl verify --repair, mailctl import), and
// RenameMailbox carries a mailbox's log to its new name while
// DeleteMailbox drops it with the mailbox. IMAP sessions keep only their
// sequence-number→UID view and the last MODSEQ they reported and read
// the rest here: Poll (one indexed row when nothing changed; the changes
// with each message's flags, MODSEQ, size, date and path otherwise),
// ChangedSince (CHANGEDSINCE through the log: only changed rows),
// MessageRange and MessagesByUIDs. Nobody keeps a second copy of
// mailbox state (modseq.go): MessageRange, Messages and MessagesByUIDs
// answer from a per-mailbox in-memory snapshot that is derived from the
// index and the log (snapshot.go: each read checks the mailbox's
// UIDVALIDITY and HIGHESTMODSEQ, applies the log's changes since the
// snapshot or reloads it), shared in the process and bounded by
// Options.SnapshotMessages. The statements of these paths are
// prepared once per index (stmts.go). Index version 3 added the log;
// versions 1 and 2 are migrated in place (existing messages get modseq
// 1). Version 4 added the \Recent mark (recent.go: ClaimRecent gives
// each new UID to exactly one session, across processes; Status.Recent
// counts the unclaimed) and the usage totals (quota.go: a row kept by
// triggers, so Quota and the delivery quota check read one row); it is
// migrated in place from every older version by migrateIndex. Version
// 5 added the access control lists of RFC 4314 (acl.go: rights per
// mailbox and identifier; the owner's are implicit and complete; they
// move with RenameMailbox and go with DeleteMailbox). A
// restored backup is moved past every UID and MODSEQ clients may have
// seen (MarkRestored, restored.go).
//
// Durability: Deliver writes to tmp/, fsyncs the file, renames it into
// new/ (or cur/), and fsyncs the directories before it records the message
// in the index and returns. When Deliver returns nil the message survives
// a crash; when it returns an error nothing is left behind. The directory
// database uses synchronous=FULL.
//
// The index is derived data. It is rebuilt from the files when missing or
// corrupt (with new UIDVALIDITY values), and the first Store.Account call
// in each process rescans every mailbox, so a file renamed into new/ by a
// crashed delivery, or by another tool, is picked up.
//
// Multi-process use: maild and mailctl open the same data directory at
// the same time. Directory data is never cached in memory: every lookup
// reads yubin.db, so changes by one process are seen at once by the
// other. SQLite's busy timeout (5 s) and immediate write transactions
// serialise writers across processes; UIDs are assigned inside an index
// write transaction, so two processes never hand out the same UID.
//
// Locking: within a process each Account serialises its writes with a
// mutex; reads run concurrently (SQLite WAL). Concurrent Deliver calls
// to one account are written as one batch under that mutex (group
// commit: each directory fsynced once, one index transaction). Store caches one Account per
// user and closes them in Close.
//
// Ownership: mailctl often runs as root while maild runs as the yubin
// user. When the effective uid is 0 and the data directory belongs to
// someone else, every file and directory the store creates is chowned to
// the data directory's owner.
//
// Logins: LoginGuard is the one login path of every protocol (IMAP, POP3,
// SMTP AUTH, HTTP Basic). It counts an attempt before the password is
// hashed, runs at most LoginOptions.MaxPasswordChecks hashes at once
// (argon2id holds 19 MiB each; waiters give up quickly with ErrBusy), and
// throttles failures per client address and per (address, account), never
// per account alone, so a guesser cannot lock the owner out. Its tables
// are capped and pruned (failures.go).
//
// Subscriptions live in the Maildir root's "subscriptions" file, as
// Dovecot keeps them; a name stays subscribed when its mailbox is
// deleted (RFC 3501 §6.3.6) and moves with RenameMailbox.
// Special uses (RFC 6154) a client gave with CREATE (USE (...)) live in
// the Maildir root's "yubin-specialuse" file (specialuse.go); the five
// default folders carry theirs by name.
//
// Removing a user removes only its directory entry; its Maildir stays on
// disk until an operator deletes it, and adding the same user again
// reuses it.
package storage
