package imapd

// command is one entry of the command table.
type command struct {
	// states are where the command is allowed; elsewhere it gets BAD.
	states state
	run    func(s *session, r *request) error
	// noExpunge: EXPUNGE responses must not be sent after this command
	// (RFC 9051 §7.5.1: FETCH, STORE, SEARCH, and their relatives, by
	// sequence number), so sequence numbers the client holds stay valid.
	noExpunge bool
	// noUpdates: the command sends its own updates (SELECT, IDLE, LOGOUT,
	// CLOSE, UNSELECT).
	noUpdates bool
}

// commands is the command table, by upper-cased name ("UID FETCH" for UID
// commands). Each handler reads its arguments from s.r, ending with
// s.r.ReadCRLF(), before it acts. Extensions add their commands here;
// their capabilities are listed in caps.go.
var commands map[string]command

func init() {
	commands = map[string]command{
		// Any state (RFC 9051 §6.1).
		"CAPABILITY": {states: anyState, run: (*session).cmdCapability},
		"NOOP":       {states: anyState, run: (*session).cmdNoop},
		"LOGOUT":     {states: anyState, run: (*session).cmdLogout, noUpdates: true},
		"ID":         {states: anyState, run: (*session).cmdID},

		// Not authenticated (§6.2).
		"STARTTLS":     {states: stateNotAuth, run: (*session).cmdStartTLS},
		"LOGIN":        {states: stateNotAuth, run: (*session).cmdLogin},
		"AUTHENTICATE": {states: stateNotAuth, run: (*session).cmdAuthenticate},

		// Authenticated (§6.3).
		"ENABLE":       {states: authOrSelect, run: (*session).cmdEnable},
		"SELECT":       {states: authOrSelect, run: (*session).cmdSelect, noUpdates: true},
		"EXAMINE":      {states: authOrSelect, run: (*session).cmdSelect, noUpdates: true},
		"CREATE":       {states: authOrSelect, run: (*session).cmdCreate},
		"DELETE":       {states: authOrSelect, run: (*session).cmdDelete},
		"RENAME":       {states: authOrSelect, run: (*session).cmdRename},
		"SUBSCRIBE":    {states: authOrSelect, run: (*session).cmdSubscribe},
		"UNSUBSCRIBE":  {states: authOrSelect, run: (*session).cmdUnsubscribe},
		"LIST":         {states: authOrSelect, run: (*session).cmdList},
		"LSUB":         {states: authOrSelect, run: (*session).cmdLsub},
		"NAMESPACE":    {states: authOrSelect, run: (*session).cmdNamespace},
		"STATUS":       {states: authOrSelect, run: (*session).cmdStatus},
		"APPEND":       {states: authOrSelect, run: (*session).cmdAppend},
		"IDLE":         {states: authOrSelect, run: (*session).cmdIdle, noUpdates: true},
		"GETQUOTAROOT": {states: authOrSelect, run: (*session).cmdGetQuotaRoot},
		"GETQUOTA":     {states: authOrSelect, run: (*session).cmdGetQuota},
		"SETQUOTA":     {states: authOrSelect, run: (*session).cmdSetQuota},
		"COMPRESS":     {states: authOrSelect, run: (*session).cmdCompress},
		// RFC 4314 (acl.go).
		"SETACL":     {states: authOrSelect, run: (*session).cmdSetACL},
		"DELETEACL":  {states: authOrSelect, run: (*session).cmdDeleteACL},
		"GETACL":     {states: authOrSelect, run: (*session).cmdGetACL},
		"LISTRIGHTS": {states: authOrSelect, run: (*session).cmdListRights},
		"MYRIGHTS":   {states: authOrSelect, run: (*session).cmdMyRights},

		// Selected (§6.4).
		"CHECK":       {states: stateSelected, run: (*session).cmdNoop},
		"CLOSE":       {states: stateSelected, run: (*session).cmdClose, noUpdates: true},
		"UNSELECT":    {states: stateSelected, run: (*session).cmdUnselect, noUpdates: true},
		"EXPUNGE":     {states: stateSelected, run: (*session).cmdExpunge},
		"UID EXPUNGE": {states: stateSelected, run: (*session).cmdExpunge},
		"SEARCH":      {states: stateSelected, run: (*session).cmdSearch, noExpunge: true},
		"UID SEARCH":  {states: stateSelected, run: (*session).cmdSearch},
		"FETCH":       {states: stateSelected, run: (*session).cmdFetch, noExpunge: true},
		"UID FETCH":   {states: stateSelected, run: (*session).cmdFetch},
		"SORT":        {states: stateSelected, run: (*session).cmdSort, noExpunge: true},
		"UID SORT":    {states: stateSelected, run: (*session).cmdSort},
		"THREAD":      {states: stateSelected, run: (*session).cmdThread, noExpunge: true},
		"UID THREAD":  {states: stateSelected, run: (*session).cmdThread},
		"STORE":       {states: stateSelected, run: (*session).cmdStore, noExpunge: true},
		"UID STORE":   {states: stateSelected, run: (*session).cmdStore},
		"COPY":        {states: stateSelected, run: (*session).cmdCopy},
		"UID COPY":    {states: stateSelected, run: (*session).cmdCopy},
		"MOVE":        {states: stateSelected, run: (*session).cmdMove},
		"UID MOVE":    {states: stateSelected, run: (*session).cmdMove},
	}
}
