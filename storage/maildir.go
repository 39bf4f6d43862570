package storage

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Inbox is the name of the account's root mailbox.
const Inbox = "INBOX"

// maxMailboxName bounds an IMAP mailbox name in octets.
const maxMailboxName = 200

// specialFolders are created for every user, with their RFC 6154
// special-use attribute.
var specialFolders = []struct{ name, use string }{
	{"Sent", `\Sent`},
	{"Drafts", `\Drafts`},
	{"Trash", `\Trash`},
	{"Junk", `\Junk`},
	{"Archive", `\Archive`},
}

func specialUse(name string) string {
	for _, f := range specialFolders {
		if f.name == name {
			return f.use
		}
	}
	return ""
}

// maildirPath returns dataDir/mail/<domain>/<local> for a normalised
// account address, re-checking that neither part can escape the tree.
func (s *Store) maildirPath(a Address) (string, error) {
	if err := ValidAccountLocal(a.Local); err != nil {
		return "", err
	}
	if d, err := NormalizeDomain(a.Domain); err != nil || d != a.Domain {
		return "", fmt.Errorf("maildir for %q: domain not normalised", a)
	}
	if a.Local != strings.ToLower(a.Local) {
		return "", fmt.Errorf("maildir for %q: local part not normalised", a)
	}
	rel := filepath.Join(a.Domain, a.Local)
	if !filepath.IsLocal(rel) || strings.ContainsAny(rel[len(a.Domain)+1:], `/\`) {
		return "", fmt.Errorf("maildir for %q: unsafe path", a)
	}
	return filepath.Join(s.mailRoot, rel), nil
}

// ensureMaildir creates the account's Maildir++ tree if parts are
// missing: cur/ new/ tmp/ and the special folders, each folder with an
// empty maildirfolder file.
func (s *Store) ensureMaildir(a Address) error {
	root, err := s.maildirPath(a)
	if err != nil {
		return err
	}
	if err := s.own.makeMaildir(root, false); err != nil {
		return err
	}
	for _, f := range specialFolders {
		if err := s.own.makeMaildir(filepath.Join(root, "."+f.name), true); err != nil {
			return err
		}
	}
	return nil
}

// makeMaildir creates dir with cur/ new/ tmp/ (and maildirfolder for a
// Maildir++ subfolder), fsyncing the parent so the new entries last.
func (o owner) makeMaildir(dir string, folder bool) error {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := o.mkdir(filepath.Join(dir, sub)); err != nil {
			return fmt.Errorf("create maildir %q: %w", dir, err)
		}
	}
	if folder {
		if err := o.touch(filepath.Join(dir, "maildirfolder")); err != nil {
			return fmt.Errorf("create maildir %q: %w", dir, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// validateMailboxName checks an IMAP mailbox name ("/" as hierarchy
// separator) and returns its canonical form ("INBOX" case-folded).
func validateMailboxName(name string) (string, error) {
	if strings.EqualFold(name, Inbox) {
		return Inbox, nil
	}
	switch {
	case name == "":
		return "", errors.New("mailbox name: empty")
	case len(name) > maxMailboxName:
		return "", fmt.Errorf("mailbox name %q: longer than %d octets", name, maxMailboxName)
	case !utf8.ValidString(name):
		return "", fmt.Errorf("mailbox name %q: invalid UTF-8", name)
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//"):
		return "", fmt.Errorf("mailbox name %q: empty hierarchy level", name)
	case strings.HasPrefix(name, "."):
		return "", fmt.Errorf("mailbox name %q: starts with '.'", name)
	case strings.Contains(name, "."):
		// '.' is the Maildir++ hierarchy separator on disk.
		return "", fmt.Errorf("mailbox name %q: '.' is not allowed (use '/' for hierarchy)", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '\\' || r == '*' || r == '%' || r == unicode.ReplacementChar {
			return "", fmt.Errorf("mailbox name %q: invalid character %q", name, r)
		}
	}
	return name, nil
}

// mailboxRel returns the mailbox directory relative to the Maildir root:
// "" for INBOX, ".A.B" for "A/B".
func mailboxRel(name string) (string, error) {
	n, err := validateMailboxName(name)
	if err != nil {
		return "", err
	}
	if n == Inbox {
		return "", nil
	}
	rel := "." + strings.ReplaceAll(n, "/", ".")
	if !filepath.IsLocal(rel) || strings.ContainsRune(rel, filepath.Separator) {
		return "", fmt.Errorf("mailbox name %q: unsafe path", name)
	}
	return rel, nil
}

// System flags and their Maildir info letters, in letter order.
type flagLetter struct {
	letter byte
	flag   string
}

var flagLetters = []flagLetter{
	{'D', `\Draft`},
	{'F', `\Flagged`},
	{'P', `$Forwarded`},
	{'R', `\Answered`},
	{'S', `\Seen`},
	{'T', `\Deleted`},
}

// Canonical names of flags.
const (
	FlagSeen      = `\Seen`
	FlagAnswered  = `\Answered`
	FlagFlagged   = `\Flagged`
	FlagDeleted   = `\Deleted`
	FlagDraft     = `\Draft`
	FlagForwarded = `$Forwarded`
)

// normalizeFlags canonicalises system flag spelling, drops \Recent,
// removes duplicates and sorts. Keywords must be non-empty atoms.
func normalizeFlags(flags []string) ([]string, error) {
	var out []string
	for _, f := range flags {
		canon := ""
		for _, fl := range flagLetters {
			if strings.EqualFold(f, fl.flag) {
				canon = fl.flag
			}
		}
		if strings.EqualFold(f, `\Recent`) {
			continue
		}
		if canon == "" {
			if f == "" || strings.HasPrefix(f, `\`) {
				return nil, fmt.Errorf("flag %q: unknown system flag", f)
			}
			for _, r := range f {
				if r <= ' ' || r >= 0x7f || strings.ContainsRune(`(){%*"\]`, r) {
					return nil, fmt.Errorf("flag %q: invalid character %q", f, r)
				}
			}
			canon = f
		}
		if !slices.Contains(out, canon) {
			out = append(out, canon)
		}
	}
	slices.Sort(out)
	return out, nil
}

// infoLetters returns the sorted Maildir info letters for the system
// flags in flags.
func infoLetters(flags []string) string {
	var b []byte
	for _, fl := range flagLetters {
		if slices.Contains(flags, fl.flag) {
			b = append(b, fl.letter)
		}
	}
	return string(b)
}

// parseInfo splits a Maildir file name into its key (up to ":2,") and the
// system flags and unknown letters in its info part.
func parseInfo(name string) (key string, flags []string, other string) {
	key, info, ok := strings.Cut(name, ":2,")
	if !ok {
		return name, nil, ""
	}
	var rest []byte
	for i := 0; i < len(info); i++ {
		known := false
		for _, fl := range flagLetters {
			if info[i] == fl.letter {
				known = true
				if !slices.Contains(flags, fl.flag) {
					flags = append(flags, fl.flag)
				}
			}
		}
		if !known && !slices.Contains(rest, info[i]) {
			rest = append(rest, info[i])
		}
	}
	return key, flags, string(rest)
}

// curName builds "<key>:2,<letters>" with our system letters plus other
// letters (e.g. Dovecot keyword letters) kept, sorted.
func curName(key string, flags []string, other string) string {
	letters := []byte(infoLetters(flags) + other)
	slices.Sort(letters)
	letters = slices.Compact(letters)
	return key + ":2," + string(letters)
}

// sizeFromName returns the ",S=<n>" value in a Maildir name, if any.
func sizeFromName(key string) (int64, bool) {
	_, rest, ok := strings.Cut(key, ",S=")
	if !ok {
		return 0, false
	}
	end := strings.IndexAny(rest, ",:")
	if end >= 0 {
		rest = rest[:end]
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// timeFromName returns the unix seconds prefix of a Maildir name, if any.
func timeFromName(key string) (time.Time, bool) {
	secs, _, ok := strings.Cut(key, ".")
	if !ok || secs == "" || len(secs) > 12 {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// uniqueName returns a new Maildir unique name for time t:
// <sec>.M<usec>P<pid>Q<counter>R<random>.<host>.
func (s *Store) uniqueName(t time.Time) (string, error) {
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	n := s.counter.Add(1)
	return fmt.Sprintf("%d.M%dP%dQ%dR%s.%s", t.Unix(), t.Nanosecond()/1000, s.pid, n,
		hex.EncodeToString(rnd[:]), s.hostname), nil
}

// isMaildirFile reports whether a directory entry in new/ or cur/ is a
// message file (not a dot file or directory).
func isMaildirFile(e os.DirEntry) bool {
	return !strings.HasPrefix(e.Name(), ".") && e.Type().IsRegular()
}
