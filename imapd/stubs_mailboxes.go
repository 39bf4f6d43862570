package imapd

// Stubs for the commands of the authenticated state. Delete each as it is
// implemented (mailboxes.go, append.go, ...); the file goes when empty.

import "github.com/emersion/go-imap/v2"

var errTODO = no(imap.ResponseCodeCannot, "Not implemented yet")

func (s *session) cmdID(r *request) error          { return errTODO }
func (s *session) cmdCreate(r *request) error      { return errTODO }
func (s *session) cmdDelete(r *request) error      { return errTODO }
func (s *session) cmdRename(r *request) error      { return errTODO }
func (s *session) cmdSubscribe(r *request) error   { return errTODO }
func (s *session) cmdUnsubscribe(r *request) error { return errTODO }
func (s *session) cmdList(r *request) error        { return errTODO }
func (s *session) cmdLsub(r *request) error        { return errTODO }
func (s *session) cmdNamespace(r *request) error   { return errTODO }
func (s *session) cmdStatus(r *request) error      { return errTODO }
func (s *session) cmdAppend(r *request) error      { return errTODO }
