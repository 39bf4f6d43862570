package imapd

// Stubs for the commands of the authenticated state. Delete each as it is
// implemented (mailboxes.go, append.go, ...); the file goes when empty.

import "github.com/emersion/go-imap/v2"

var errTODO = no(imap.ResponseCodeCannot, "Not implemented yet")
