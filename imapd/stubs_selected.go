package imapd

// Stubs for the selected state. Delete each as it is implemented
// (select.go, fetch.go, store.go, search.go, ...); the file goes when
// empty.

// updates sends the untagged responses due (EXISTS, EXPUNGE or VANISHED,
// FETCH FLAGS, FLAGS) from the change log; EXPUNGE only if allowExpunge.
func (s *session) updates(allowExpunge bool) error { return nil }

// refresh indexes files other programs added or removed (storage
// Account.Refresh), so they reach the change log.
func (s *session) refresh() {}

func (s *session) cmdSelect(r *request) error   { return errTODO }
func (s *session) cmdIdle(r *request) error     { return errTODO }
func (s *session) cmdClose(r *request) error    { return errTODO }
func (s *session) cmdUnselect(r *request) error { return errTODO }
func (s *session) cmdExpunge(r *request) error  { return errTODO }
func (s *session) cmdStore(r *request) error    { return errTODO }
func (s *session) cmdCopy(r *request) error     { return errTODO }
func (s *session) cmdMove(r *request) error     { return errTODO }
