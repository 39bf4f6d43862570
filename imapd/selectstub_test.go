package imapd

import (
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Until the selected-state branch's SELECT reaches this branch, the tests
// select with this stand-in: it runs only while SELECT is the stub (which
// answers errTODO without reading its arguments). Delete this file when
// SELECT is merged.
func init() {
	for _, name := range []string{"SELECT", "EXAMINE"} {
		real := commands[name]
		commands[name] = command{states: real.states, noUpdates: real.noUpdates, run: func(s *session, r *request) error {
			if err := real.run(s, r); err != errTODO {
				return err
			}
			return s.stubSelect(name == "EXAMINE")
		}}
	}
}

func (s *session) stubSelect(readOnly bool) error {
	if err := s.r.ReadSP(); err != nil {
		return err
	}
	name, err := s.r.ReadMailbox()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	s.sel, s.state = nil, stateAuth
	msgs, err := s.acct.Messages(s.ctx(), name)
	if err != nil {
		return mailboxError(err)
	}
	st, err := s.acct.Status(s.ctx(), name)
	if err != nil {
		return mailboxError(err)
	}
	v := &view{name: name, readOnly: readOnly, validity: st.UIDValidity, modseq: st.HighestModSeq}
	for _, m := range msgs {
		v.uids = append(v.uids, m.UID)
	}
	s.sel, s.state = v, stateSelected
	s.w.Untagged().Number(uint32(len(v.uids))).SP().Atom("EXISTS").CRLF()
	s.w.Untagged().Atom(`FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`).CRLF()
	s.w.Status("", imap.StatusResponseTypeOK, imap.ResponseCode("UIDVALIDITY "+strconv.FormatUint(uint64(st.UIDValidity), 10)), "UIDs valid")
	s.w.Status("", imap.StatusResponseTypeOK, imap.ResponseCode("UIDNEXT "+strconv.FormatUint(uint64(st.UIDNext), 10)), "Predicted next UID")
	code := "READ-WRITE"
	if readOnly {
		code = "READ-ONLY"
	}
	return ok(imap.ResponseCode(code), strings.ToUpper(map[bool]string{true: "EXAMINE", false: "SELECT"}[readOnly])+" completed")
}
