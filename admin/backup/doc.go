// Package backup takes consistent online backups of a Yubin data
// directory, restores them into a fresh one, and checks them.
//
// # What a backup holds
//
//	DIR/manifest.json            every file and directory: path, size, mode,
//	                             mtime, SHA-256; written last
//	DIR/yubin.db                 SQLite online-backup copy of the directory
//	DIR/queue/queue.db           online-backup copy of the queue database
//	DIR/queue/spool/<id>         queued messages
//	DIR/mail/<domain>/<user>/    each Maildir: message files, folders,
//	    yubin-index.db           subscriptions, and an online-backup copy
//	                             of the account index
//	DIR/tls/, other files        copied as they are
//
// # Consistency while maild runs
//
// Each SQLite database is copied with SQLite's online backup API, which
// reads one consistent snapshot while writers carry on (WAL). Maildir and
// spool files are never modified after they are written (a flag change
// renames, an expunge unlinks), so a file is copied or hard-linked whole.
// The order makes every message acknowledged before the backup started
// land in it: the queue database first, then the spool files, then the
// Maildirs — a message leaving the queue meanwhile was delivered before
// its Maildir is read. Within an account the index is copied before the
// files are listed; the copy is then reconciled with the files copied
// (storage.ReconcileMaildir, a rescan), so the backed-up index matches the
// backed-up Maildir exactly.
//
// # Restore
//
// Restore copies into an empty data directory only, then moves every
// restored mailbox past any UID and MODSEQ a client can have seen after
// the backup (storage.MarkRestored): UIDVALIDITY and the restored UIDs
// stay, new mail never reuses a UID, and every IMAP client
// resynchronises its flags and expunges once.
//
// # Incremental
//
// When DIR holds an earlier backup, message and spool files it already
// has (same Maildir key and size) are kept, renamed if their flags
// changed, and their checksums reused; only new files are copied or
// linked, and files gone from the data directory are removed. Message
// files are hard-linked when DIR is on the same file system as the data
// directory (free, but not a second copy of the bytes: copy DIR off-site
// with rsync -aH) and copied otherwise. A DIR/.in-progress marker exists
// while a backup runs; Restore refuses a DIR that has it.
package backup
