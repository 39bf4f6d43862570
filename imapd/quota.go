package imapd

import (
	"github.com/emersion/go-imap/v2"

	"yubin/imapd/wire"
	"yubin/storage"
)

// QUOTA (RFC 9208): one quota root, "", covers every mailbox of the
// account; its one resource is STORAGE, in units of 1024 octets (§5.1),
// from the user's quota in the directory and the size of every indexed
// message. Quotas are set with mailctl, never over IMAP: SETQUOTA is
// refused and QUOTASET not advertised.

// quotaRoot is the name of the account's quota root.
const quotaRoot = ""

// quota returns the account's use and limit in bytes (limit 0: none):
// one directory lookup (the limit is never cached, so a change made
// with mailctl is seen at once) and one index row.
func (s *session) quota() (used, limit int64, err error) {
	q, err := s.acct.Quota(s.ctx())
	return q.Bytes, q.LimitBytes, err
}

// writeQuota writes "* QUOTA "" (STORAGE used limit)".
func (s *session) writeQuota(used, limit int64) {
	s.w.Quota(quotaRoot, []wire.QuotaResource{{
		Resource: imap.QuotaResourceStorage,
		Usage:    (used + 1023) / 1024,
		Limit:    limit / 1024,
	}})
}

// cmdGetQuotaRoot implements GETQUOTAROOT (RFC 9208 §4.1.2). A user
// without a quota has no quota root: QUOTAROOT lists none.
func (s *session) cmdGetQuotaRoot(r *request) error {
	name, err := s.r.ReadMailboxArg()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	canon, err := storage.ValidMailboxName(name)
	if err != nil {
		return s.fail("getquotaroot", err)
	}
	if _, _, err := s.acct.UIDs(s.ctx(), canon); err != nil {
		return s.fail("getquotaroot", err)
	}
	used, limit, err := s.quota()
	if err != nil {
		return err
	}
	if limit == 0 {
		s.w.QuotaRoot(canon, nil)
		return nil
	}
	s.w.QuotaRoot(canon, []string{quotaRoot})
	s.writeQuota(used, limit)
	return nil
}

// cmdGetQuota implements GETQUOTA (RFC 9208 §4.1.1).
func (s *session) cmdGetQuota(r *request) error {
	root, err := s.r.ReadGetQuotaArgs()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	used, limit, err := s.quota()
	if err != nil {
		return err
	}
	if root != quotaRoot || limit == 0 {
		return s.fail("getquota", no(imap.ResponseCodeNonExistent, "No such quota root"))
	}
	s.writeQuota(used, limit)
	return nil
}

// cmdSetQuota implements SETQUOTA (RFC 9208 §4.1.3): quotas are the
// administrator's (mailctl), so it is refused.
func (s *session) cmdSetQuota(r *request) error {
	if _, _, err := s.r.ReadSetQuotaArgs(); err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	return s.fail("setquota", no(imap.ResponseCodeNoPerm, "Quotas are set by the administrator"))
}
