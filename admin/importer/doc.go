// Package importer moves mail into and out of Yubin accounts: it pulls
// every folder of an account on another IMAP server (IMAP), reads mbox
// files (Mbox) and Maildir or Maildir++ trees (Maildir), and writes an
// account out as Maildir++ or mbox files (Export).
//
// # Streaming
//
// Messages are streamed one at a time from the source into
// storage.Account.Deliver, which writes them durably; no folder and no
// message is held whole in memory. The IMAP import first fetches the
// metadata (UID, flags, internal date, size, envelope) of a batch of at
// most batchSize messages, then their bodies, so flags and dates are
// known before each body arrives.
//
// # Resuming
//
// Each message copied is recorded in yubin.db (storage.RecordImport) in
// the same step: for IMAP the source folder's UIDVALIDITY and the highest
// UID copied, plus a fingerprint (Message-ID, Date header and size). A
// second run fetches only UIDs above the recorded one; when UIDVALIDITY
// changed, it falls back to the fingerprints. mbox files resume at the
// byte offset after the last message copied (if the file still starts
// the same); Maildir sources are fingerprinted by their unique file name.
// A crash between a delivery and its record can copy that one message
// twice, never lose one.
//
// # Folder mapping
//
// Source folders marked with an RFC 6154 special use, or named like the
// usual Sent, Drafts, Trash, Junk and Archive folders of Exchange,
// Gmail, Dovecot and Courier, go to Yubin's special folders; others keep
// their hierarchy with "/" as separator. A leading "INBOX." level
// (Courier, Cyrus) is dropped, and "." inside a level (not allowed in
// Maildir++) becomes "_". Gmail's "All Mail" and virtual "Starred" /
// "Important" folders are skipped: their messages are in other folders.
package importer
