package importer

import (
	"strings"

	"yubin/storage"
)

// Special-use attributes (RFC 6154) and the folder names that mean them
// on Exchange, Outlook, Gmail, Dovecot, Courier and common localisations.
var specialNames = map[string][]string{
	"Sent":    {"sent", "sent items", "sent messages", "sent mail", "sent-mail", "outbox sent", "gesendet", "gesendete elemente", "gesendete objekte", "éléments envoyés", "envoyés", "enviados", "elementos enviados", "posta inviata", "verzonden items"},
	"Drafts":  {"drafts", "draft", "entwürfe", "brouillons", "borradores", "bozze", "concepten"},
	"Trash":   {"trash", "deleted items", "deleted messages", "deleted", "bin", "papierkorb", "gelöschte elemente", "gelöschte objekte", "corbeille", "éléments supprimés", "papelera", "elementos eliminados", "cestino", "verwijderde items", "prullenbak"},
	"Junk":    {"junk", "junk e-mail", "junk email", "junk mail", "spam", "bulk mail", "junk-e-mail", "spam-verdacht", "courrier indésirable", "correo no deseado", "posta indesiderata", "ongewenste e-mail"},
	"Archive": {"archive", "archives", "archiv", "archivo", "archivio", "archief"},
}

var specialAttrs = map[string]string{
	`\sent`: "Sent", `\drafts`: "Drafts", `\trash`: "Trash", `\junk`: "Junk", `\archive`: "Archive",
}

// skippedAttrs mark virtual folders whose messages live elsewhere.
var skippedAttrs = []string{`\all`, `\flagged`, `\important`}

// TargetFolder maps a source folder to a Yubin folder name. name uses
// delim as hierarchy separator (0 if the source has none); attrs are the
// LIST attributes. skip is true for virtual folders (Gmail's All Mail).
func TargetFolder(name string, delim rune, attrs []string) (target string, skip bool) {
	for _, a := range attrs {
		la := strings.ToLower(a)
		for _, s := range skippedAttrs {
			if la == s {
				return "", true
			}
		}
	}
	var parts []string
	if delim == 0 {
		parts = []string{name}
	} else {
		parts = strings.Split(name, string(delim))
	}
	if strings.EqualFold(parts[0], storage.Inbox) {
		if len(parts) == 1 {
			return storage.Inbox, false
		}
		parts = parts[1:] // Courier/Cyrus: everything under INBOX.
	}
	for _, a := range attrs {
		if t, ok := specialAttrs[strings.ToLower(a)]; ok {
			return t, false
		}
	}
	// Gmail keeps its system folders under "[Gmail]" or "[Google Mail]".
	if len(parts) == 2 && strings.HasPrefix(parts[0], "[") && strings.HasSuffix(parts[0], "]") {
		switch strings.ToLower(parts[1]) {
		case "all mail", "starred", "important", "alle nachrichten", "markiert", "wichtig":
			return "", true
		}
		parts = parts[1:]
	}
	if len(parts) == 1 {
		lower := strings.ToLower(strings.TrimSpace(parts[0]))
		for target, names := range specialNames {
			for _, n := range names {
				if lower == n {
					return target, false
				}
			}
		}
	}
	for i, p := range parts {
		p = strings.ReplaceAll(p, ".", "_")
		p = strings.Map(func(r rune) rune {
			if r < ' ' || r == '\\' || r == '*' || r == '%' || r == 0x7f {
				return '_'
			}
			return r
		}, p)
		if p == "" {
			p = "_"
		}
		parts[i] = p
	}
	t := strings.Join(parts, "/")
	if c, err := storage.ValidMailboxName(t); err == nil {
		return c, false
	}
	return "Imported/" + strings.ReplaceAll(t, "/", "_"), false
}
