package imapd

// Stubs for FETCH and SEARCH. Delete each as it is implemented (fetch.go,
// search.go); the file goes when empty.

func (s *session) cmdSearch(r *request) error { return errTODO }
func (s *session) cmdFetch(r *request) error  { return errTODO }
