package storage

import (
	"database/sql"
	"fmt"
	"strings"
)

// indexStmts are the account index statements that run on every change
// and on every IMAP session poll, prepared once per index handle
// (Store.Account, a rebuild, ReconcileMaildir) instead of parsed again
// by SQLite on each call: that parse was most of the change log's cost
// (BenchmarkStoreFlags, BenchmarkChangesSince). Inside a transaction
// they are used through tx.StmtContext, which reuses the statement
// already prepared on the transaction's connection. They are guarded
// like the handle they belong to (Account.idxMu) and closed with it.
type indexStmts struct {
	// The change log (modseq.go).
	bumpModSeq *sql.Stmt // mailbox → highestmodseq, logfloor after +1
	insertLog  *sql.Stmt // mailbox, modseq, uid, kind
	trimLog    *sql.Stmt // mailbox, floor
	setFloor   *sql.Stmt // floor, mailbox

	// Messages.
	message       *sql.Stmt // mailbox, uid → messageColumns
	messageByKey  *sql.Stmt // mailbox, key → uid, flags, modseq
	messageRange  *sql.Stmt // mailbox, first, last → messageColumns by UID
	insertMessage *sql.Stmt // mailbox, uid, key, filename, flags, internal_date, size, modseq
	updateFlags   *sql.Stmt // filename, flags, modseq, mailbox, uid
	deleteMessage *sql.Stmt // mailbox, uid

	// Mailboxes.
	mailboxRow  *sql.Stmt // name → uidvalidity, uidnext
	setUIDNext  *sql.Stmt // uidnext, name
	modseqState *sql.Stmt // name → uidvalidity, uidnext, highestmodseq, logfloor
	status      *sql.Stmt // name → Status columns
	recentMark  *sql.Stmt // name → recentuid (recent.go)
	usage       *sql.Stmt // → bytes, messages of the account

	// Session reads (modseq.go).
	changes      *sql.Stmt // mailbox, since → log rows joined with messages
	changedSince *sql.Stmt // mailbox, since → messageColumns of messages changed since, by UID
}

// prepareIndex prepares the statements on db.
func prepareIndex(db *sql.DB) (*indexStmts, error) {
	st := &indexStmts{}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&st.bumpModSeq, `UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE name = ? RETURNING highestmodseq, logfloor`},
		{&st.insertLog, `INSERT INTO changelog (mailbox, modseq, uid, kind) VALUES (?, ?, ?, ?)`},
		{&st.trimLog, `DELETE FROM changelog WHERE mailbox = ? AND modseq <= ?`},
		{&st.setFloor, `UPDATE mailboxes SET logfloor = ? WHERE name = ?`},
		{&st.message, `SELECT ` + messageColumns + ` FROM messages WHERE mailbox = ? AND uid = ?`},
		{&st.messageByKey, `SELECT uid, flags, modseq FROM messages WHERE mailbox = ? AND key = ?`},
		{&st.messageRange, `SELECT ` + messageColumns + ` FROM messages WHERE mailbox = ? AND uid BETWEEN ? AND ? ORDER BY uid`},
		{&st.insertMessage, `INSERT INTO messages (mailbox, uid, key, filename, flags, internal_date, size, modseq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
		{&st.updateFlags, `UPDATE messages SET filename = ?, flags = ?, modseq = ? WHERE mailbox = ? AND uid = ?`},
		{&st.deleteMessage, `DELETE FROM messages WHERE mailbox = ? AND uid = ?`},
		{&st.mailboxRow, `SELECT uidvalidity, uidnext FROM mailboxes WHERE name = ?`},
		{&st.setUIDNext, `UPDATE mailboxes SET uidnext = ? WHERE name = ?`},
		{&st.modseqState, `SELECT uidvalidity, uidnext, highestmodseq, logfloor FROM mailboxes WHERE name = ?`},
		{&st.status, `SELECT m.uidvalidity, m.uidnext, m.highestmodseq,
			(SELECT COUNT(*) FROM messages WHERE mailbox = m.name),
			(SELECT COUNT(*) FROM messages WHERE mailbox = m.name AND instr(' ' || flags || ' ', ' \Seen ') = 0),
			(SELECT COALESCE(SUM(size), 0) FROM messages WHERE mailbox = m.name),
			(SELECT COUNT(*) FROM messages WHERE mailbox = m.name AND uid > m.recentuid)
			FROM mailboxes m WHERE m.name = ?`},
		{&st.recentMark, `SELECT recentuid FROM mailboxes WHERE name = ?`},
		{&st.usage, `SELECT bytes, messages FROM usage WHERE id = 1`},
		// One statement: the log rows and the messages' state are one snapshot.
		{&st.changes, `SELECT c.modseq, c.uid, c.kind,
			m.key, m.filename, m.flags, m.internal_date, m.size, m.modseq
			FROM changelog c LEFT JOIN messages m ON m.mailbox = c.mailbox AND m.uid = c.uid
			WHERE c.mailbox = ? AND c.modseq > ? ORDER BY c.modseq`},
		// The log's rows above since name every message changed since
		// (the primary key range); each is read once, by its key.
		{&st.changedSince, `SELECT ` + prefixed("m.", messageColumns) + ` FROM messages m
			WHERE m.mailbox = ?1 AND m.uid IN (SELECT uid FROM changelog WHERE mailbox = ?1 AND modseq > ?2)
			AND m.modseq > ?2 ORDER BY m.uid`},
	} {
		s, err := db.Prepare(p.sql)
		if err != nil {
			st.close()
			return nil, fmt.Errorf("prepare index statement: %w", err)
		}
		*p.dst = s
	}
	return st, nil
}

// close closes the prepared statements.
func (st *indexStmts) close() {
	if st == nil {
		return
	}
	for _, s := range []*sql.Stmt{st.bumpModSeq, st.insertLog, st.trimLog, st.setFloor,
		st.message, st.messageByKey, st.messageRange, st.insertMessage, st.updateFlags, st.deleteMessage,
		st.mailboxRow, st.setUIDNext, st.modseqState, st.status, st.recentMark, st.usage, st.changes, st.changedSince} {
		if s != nil {
			s.Close()
		}
	}
}

// prefixed puts p before each column of a comma-separated list.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
