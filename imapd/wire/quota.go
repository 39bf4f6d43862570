package wire

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// QuotaLimit is one resource of SETQUOTA (RFC 9208 §4.1.3).
type QuotaLimit struct {
	// Resource is upper-cased: STORAGE (in units of 1024 octets),
	// MESSAGE, MAILBOX, ANNOTATION-STORAGE or an extension (RFC 9208 §5).
	Resource imap.QuotaResourceType
	Limit    int64
}

// QuotaResource is one resource of a QUOTA response (RFC 9208 §4.2.1):
// usage and limit of STORAGE are in units of 1024 octets (§5.1).
type QuotaResource struct {
	Resource imap.QuotaResourceType
	Usage    int64
	Limit    int64
}

// ReadGetQuotaArgs reads the argument of GETQUOTA from the SP after the
// command name: SP quota-root-name (RFC 9208 §4.1.1, an astring, may be
// ""). GETQUOTAROOT takes a mailbox: ReadMailboxArg.
func (r *Reader) ReadGetQuotaArgs() (string, error) {
	if err := r.ReadSP(); err != nil {
		return "", err
	}
	return r.ReadAString()
}

// ReadSetQuotaArgs reads the arguments of SETQUOTA from the SP after the
// command name up to, not including, the CRLF (RFC 9208 §4.1.3, §7):
//
//	SP quota-root-name SP "(" [resource-name SP number64 *(SP ...)] ")"
//
// An empty list removes every limit. A resource named twice is a
// *SyntaxError; whether each resource is supported is the server's
// decision.
func (r *Reader) ReadSetQuotaArgs() (string, []QuotaLimit, error) {
	root, err := r.ReadGetQuotaArgs()
	if err != nil {
		return "", nil, err
	}
	if err := r.ReadSP(); err != nil {
		return "", nil, err
	}
	var limits []QuotaLimit
	seen := map[imap.QuotaResourceType]bool{}
	err = r.ReadList(func() error {
		a, err := r.ReadAtom()
		if err != nil {
			return err
		}
		res := imap.QuotaResourceType(strings.ToUpper(a))
		if seen[res] {
			return syntaxErr("resource %s twice", truncate(string(res)))
		}
		seen[res] = true
		if err := r.ReadSP(); err != nil {
			return err
		}
		n, err := r.ReadNumber64()
		if err != nil {
			return err
		}
		limits = append(limits, QuotaLimit{Resource: res, Limit: n})
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return root, limits, nil
}

// Quota writes the QUOTA response (RFC 9208 §4.2.1):
//
//	S: * QUOTA "" (STORAGE 10 512 MESSAGE 3 1000)
//
// An empty list says the root has no limits.
func (w *Writer) Quota(root string, resources []QuotaResource) *Writer {
	w.Untagged().Atom("QUOTA").SP().String(root).SP().BeginList()
	for i, q := range resources {
		if i > 0 {
			w.SP()
		}
		w.Atom(string(q.Resource)).SP().Number64(uint64(max(q.Usage, 0))).SP().Number64(uint64(max(q.Limit, 0)))
	}
	return w.EndList().CRLF()
}

// QuotaRoot writes the QUOTAROOT response (RFC 9208 §4.2.2): the mailbox
// and its quota roots, possibly none.
func (w *Writer) QuotaRoot(mailbox string, roots []string) *Writer {
	w.Untagged().Atom("QUOTAROOT").SP().Mailbox(mailbox)
	for _, root := range roots {
		w.SP().String(root)
	}
	return w.CRLF()
}
