package importer

import (
	"bufio"
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"yubin/storage"
)

// MaildirOptions configures Maildir.
type MaildirOptions struct {
	Options
	// Dir is a Maildir (cur/ new/ tmp/) or a Maildir++ root whose ".A.B"
	// subdirectories are folders, as Dovecot and Courier write them.
	Dir string
}

// Maildir imports a Maildir or Maildir++ tree: flags from the ":2,"
// suffix, Dovecot keywords (lower-case letters, named in each folder's
// dovecot-keywords file), the internal date from the file's mtime.
// Messages already copied (same folder and unique name) are skipped.
func Maildir(ctx context.Context, opts MaildirOptions) (Summary, error) {
	abs, err := filepath.Abs(opts.Dir)
	if err != nil {
		return Summary{}, err
	}
	j, err := newJob(ctx, opts.Options, "maildir:"+abs)
	if err != nil {
		return Summary{}, err
	}
	folders, err := maildirFolders(abs)
	if err != nil {
		return j.finish(), err
	}
	if len(folders) == 0 {
		return j.finish(), fmt.Errorf("%s: not a Maildir (no cur/ directory in it or in its .folders)", abs)
	}
	for _, f := range folders {
		if err := ctx.Err(); err != nil {
			return j.finish(), err
		}
		if !j.wanted(f.name) {
			continue
		}
		if err := j.maildirFolder(f); err != nil {
			return j.finish(), fmt.Errorf("folder %q: %w", f.name, err)
		}
	}
	return j.finish(), nil
}

type maildirFolder struct {
	dir    string
	name   string // source name, "/" separated, decoded
	target string
}

// maildirFolders lists the root (INBOX) and its Maildir++ subfolders.
func maildirFolders(root string) ([]maildirFolder, error) {
	var out []maildirFolder
	if isMaildir(root) {
		out = append(out, maildirFolder{dir: root, name: storage.Inbox, target: storage.Inbox})
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var subs []maildirFolder
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() || len(n) < 2 || n[0] != '.' || n == ".." || strings.HasPrefix(n, "..") {
			continue
		}
		dir := filepath.Join(root, n)
		if !isMaildir(dir) {
			continue
		}
		parts := strings.Split(n[1:], ".")
		for i, p := range parts {
			parts[i] = decodeMUTF7(p)
		}
		name := strings.Join(parts, "/")
		target, skip := TargetFolder(name, '/', nil)
		if skip {
			continue
		}
		subs = append(subs, maildirFolder{dir: dir, name: name, target: target})
	}
	slices.SortFunc(subs, func(a, b maildirFolder) int { return strings.Compare(a.name, b.name) })
	return append(out, subs...), nil
}

func isMaildir(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "cur"))
	return err == nil && fi.IsDir()
}

func (j *job) maildirFolder(f maildirFolder) error {
	j.Progress.Folder(f.name)
	j.sum.Folders++
	if err := j.ensureFolder(f.target); err != nil {
		return err
	}
	keywords := dovecotKeywords(f.dir)
	// Names only (not contents) are held, so a folder of 100,000 files
	// costs a few MB; they are imported oldest first so the new UIDs keep
	// the source's order.
	type entry struct {
		sub, name string
		secs      int64
	}
	var ents []entry
	for _, sub := range []string{"cur", "new"} {
		list, err := os.ReadDir(filepath.Join(f.dir, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range list {
			if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
				continue
			}
			secs, _ := strconv.ParseInt(strings.SplitN(e.Name(), ".", 2)[0], 10, 64)
			ents = append(ents, entry{sub, e.Name(), secs})
		}
	}
	slices.SortFunc(ents, func(a, b entry) int {
		if c := cmp.Compare(a.secs, b.secs); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	j.Progress.AddTotal(len(ents), 0)
	for _, e := range ents {
		if err := j.ctx.Err(); err != nil {
			return err
		}
		j.maildirMessage(f, filepath.Join(f.dir, e.sub, e.name), e.sub == "cur", keywords)
	}
	return nil
}

func (j *job) maildirMessage(f maildirFolder, path string, inCur bool, keywords map[byte]string) {
	name := filepath.Base(path)
	key, info, _ := strings.Cut(name, ":2,")
	fingerprint := f.name + "\x00" + key
	seen, err := j.Store.ImportSeen(j.ctx, j.User, j.source, fingerprint)
	if err != nil {
		j.fail("%s: %v", path, err)
		j.Progress.Done(0)
		return
	}
	if seen {
		j.sum.Skipped++
		j.Progress.Done(0)
		return
	}
	var flags []string
	if inCur {
		for i := 0; i < len(info); i++ {
			switch c := info[i]; {
			case c == 'D':
				flags = append(flags, storage.FlagDraft)
			case c == 'F':
				flags = append(flags, storage.FlagFlagged)
			case c == 'P':
				flags = append(flags, storage.FlagForwarded)
			case c == 'R':
				flags = append(flags, storage.FlagAnswered)
			case c == 'S':
				flags = append(flags, storage.FlagSeen)
			case c == 'T':
				flags = append(flags, storage.FlagDeleted)
			case c >= 'a' && c <= 'z':
				if k, ok := keywords[c]; ok {
					flags = append(flags, k)
				}
			}
		}
	}
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		j.Progress.Done(0) // moved or expunged by the source meanwhile
		return
	}
	if err != nil {
		j.fail("%s: %v", path, err)
		j.Progress.Done(0)
		return
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		j.fail("%s: %v", path, err)
		j.Progress.Done(0)
		return
	}
	size, err := j.deliver(f.target, bufio.NewReaderSize(file, 64<<10), cleanFlags(flags), fi.ModTime(), "", storage.ImportFolder{}, fingerprint)
	if err != nil {
		j.fail("%s: %v", path, err)
		j.Progress.Done(0)
		return
	}
	j.Progress.Done(size)
}

// dovecotKeywords reads a folder's dovecot-keywords file: lines "<n>
// <keyword>", keyword n being the letter 'a'+n in file names.
func dovecotKeywords(dir string) map[byte]string {
	b, err := os.ReadFile(filepath.Join(dir, "dovecot-keywords"))
	if err != nil {
		return nil
	}
	out := map[byte]string{}
	for _, line := range strings.Split(string(b), "\n") {
		n, kw, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i >= 26 {
			continue
		}
		out[byte('a'+i)] = kw
	}
	return out
}

// decodeMUTF7 decodes IMAP's modified UTF-7 (RFC 3501 §5.1.3), in which
// Dovecot and Courier name Maildir folders; invalid input is returned
// unchanged.
func decodeMUTF7(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '&' {
			b.WriteByte(s[i])
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return s
		}
		enc := s[i+1 : i+1+end]
		i += end + 1
		if enc == "" {
			b.WriteByte('&')
			continue
		}
		raw, err := base64.RawStdEncoding.DecodeString(strings.ReplaceAll(enc, ",", "/"))
		if err != nil || len(raw)%2 != 0 {
			return s
		}
		u := make([]uint16, len(raw)/2)
		for k := range u {
			u[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		b.WriteString(string(utf16.Decode(u)))
	}
	return b.String()
}
