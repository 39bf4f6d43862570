package imapd

import (
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Flags are case-insensitive (RFC 9051 §2.3.2); storage keeps them as
// the client first spelled them.

func containsFold(flags []string, f string) bool {
	return slices.ContainsFunc(flags, func(x string) bool { return strings.EqualFold(x, f) })
}

func imapFlags(flags []string) []imap.Flag {
	out := make([]imap.Flag, len(flags))
	for i, f := range flags {
		out[i] = imap.Flag(f)
	}
	return out
}

// storageFlags converts flags to store; \Recent is never stored (it is a
// session property, RFC 3501 §2.3.2).
func storageFlags(flags []imap.Flag) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if strings.EqualFold(string(f), `\Recent`) {
			continue
		}
		out = append(out, string(f))
	}
	return out
}
