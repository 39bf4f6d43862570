package importer

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"yubin/storage"
)

func newAccount(t *testing.T) (*storage.Store, storage.Address) {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.AddDomain(ctx, "acme.test"); err != nil {
		t.Fatal(err)
	}
	u, err := st.AddUser(ctx, "ann@acme.test", "pw", 0)
	if err != nil {
		t.Fatal(err)
	}
	return st, u.Address
}

// contents returns folder's messages as "flags|body" strings, bodies
// with LF line ends.
func contents(t *testing.T, st *storage.Store, user storage.Address, folder string) []string {
	t.Helper()
	ctx := context.Background()
	acct, err := st.Account(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := acct.Messages(ctx, folder)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		f, err := acct.OpenMessage(ctx, folder, m)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		out = append(out, strings.Join(m.Flags, " ")+"|"+strings.ReplaceAll(string(b), "\r\n", "\n"))
	}
	return out
}

const trickyMbox = `From alice@example.test Mon Jan  2 15:04:05 2006
From: alice@example.test
Subject: one
Status: RO
X-Status: F

From the desk of Alice: this body line starts with From but has no date.
>From here on, an escaped From line.
>>From a doubly quoted one.

From bob@example.test Tue Feb  3 04:05:06 2009
From: bob@example.test
Subject: two
X-Keywords: $Label1

From bob Tue Feb  3 04:05:06 2009 looks like a separator but follows a text line? no:
body two

From MAILER-DAEMON Wed Mar  4 05:06:07 2010 +0000
Subject: three

last message, no trailing blank line`

func TestMboxTrickyFromLines(t *testing.T) {
	t.Parallel()
	st, user := newAccount(t)
	file := filepath.Join(t.TempDir(), "Old Stuff.mbox")
	if err := os.WriteFile(file, []byte(trickyMbox), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sum, err := Mbox(ctx, MboxOptions{Options: Options{Store: st, User: user}, Files: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Messages != 3 || sum.Errors != 0 {
		t.Fatalf("summary %+v", sum)
	}
	got := contents(t, st, user, "Old Stuff")
	want := []string{
		`\Flagged \Seen|From: alice@example.test
Subject: one

From the desk of Alice: this body line starts with From but has no date.
From here on, an escaped From line.
>From a doubly quoted one.
`,
		`$Label1|From: bob@example.test
Subject: two

From bob Tue Feb  3 04:05:06 2009 looks like a separator but follows a text line? no:
body two
`,
		`|Subject: three

last message, no trailing blank line
`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("imported:\n%q\nwant:\n%q", got, want)
	}
	acct, _ := st.Account(ctx, user)
	msgs, _ := acct.Messages(ctx, "Old Stuff")
	if d := msgs[0].InternalDate.UTC(); !d.Equal(time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)) {
		t.Errorf("internal date %v", d)
	}
	// A second run copies nothing; an appended message is picked up.
	sum, err = Mbox(ctx, MboxOptions{Options: Options{Store: st, User: user}, Files: []string{file}})
	if err != nil || sum.Messages != 0 {
		t.Fatalf("second run: %+v %v", sum, err)
	}
	f, _ := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\n\nFrom x@example.test Thu Mar  5 05:06:07 2010\nSubject: four\n\nfour\n")
	f.Close()
	sum, err = Mbox(ctx, MboxOptions{Options: Options{Store: st, User: user}, Files: []string{file}})
	if err != nil || sum.Messages != 1 {
		t.Fatalf("third run: %+v %v", sum, err)
	}
	if got := contents(t, st, user, "Old Stuff"); len(got) != 4 || got[3] != "|Subject: four\n\nfour\n" {
		t.Errorf("after append: %q", got)
	}
}

func TestMboxo(t *testing.T) {
	t.Parallel()
	st, user := newAccount(t)
	file := filepath.Join(t.TempDir(), "inbox")
	os.WriteFile(file, []byte("From a Mon Jan  2 15:04:05 2006\nSubject: x\n\n>From one\n>>From two\n"), 0o600)
	if _, err := Mbox(context.Background(), MboxOptions{Options: Options{Store: st, User: user}, Files: []string{file}, Mboxo: true}); err != nil {
		t.Fatal(err)
	}
	got := contents(t, st, user, storage.Inbox)
	if want := []string{"|Subject: x\n\nFrom one\n>>From two\n"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// writeDovecotMaildir writes a Maildir++ tree the way Dovecot does:
// LF line ends, ",S=,W=" names, keyword letters and dovecot-keywords,
// mUTF-7 folder names, dovecot-uidlist and index files to ignore.
func writeDovecotMaildir(t *testing.T, root string) {
	t.Helper()
	write := func(rel, body string, mtime time.Time) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	d1 := time.Date(2015, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, dir := range []string{"", ".Sent", ".Work.Projects", ".K&APY-ln", ".Deleted Items"} {
		for _, sub := range []string{"cur", "new", "tmp"} {
			os.MkdirAll(filepath.Join(root, dir, sub), 0o700)
		}
	}
	write("cur/1431000000.M1P1.old,S=20,W=22:2,Sa", "Subject: a\n\nbody a\n", d1)
	write("new/1431000001.M2P1.old,S=20,W=22", "Subject: b\n\nbody b\n", d1.Add(time.Hour))
	write("dovecot-keywords", "0 $Important\n1 NonJunk\n", d1)
	write("dovecot-uidlist", "3 V1 N3\n", d1)
	write("dovecot.index.log", "binary", d1)
	write(".Sent/cur/1431000002.M3P1.old,S=20:2,RS", "Subject: c\n\nbody c\n", d1)
	write(".Work.Projects/cur/1431000003.M4P1.old:2,F", "Subject: d\n\nbody d\n", d1)
	write(".K&APY-ln/cur/1431000004.M5P1.old:2,", "Subject: e\n\nbody e\n", d1)
	write(".Deleted Items/cur/1431000005.M6P1.old:2,ST", "Subject: f\n\nbody f\n", d1)
}

func TestMaildirImport(t *testing.T) {
	t.Parallel()
	st, user := newAccount(t)
	src := t.TempDir()
	writeDovecotMaildir(t, src)
	ctx := context.Background()
	sum, err := Maildir(ctx, MaildirOptions{Options: Options{Store: st, User: user}, Dir: src})
	if err != nil || sum.Messages != 6 || sum.Folders != 5 || sum.Errors != 0 {
		t.Fatalf("summary %+v, %v", sum, err)
	}
	checks := map[string][]string{
		storage.Inbox:   {"$Important \\Seen|Subject: a\n\nbody a\n", "|Subject: b\n\nbody b\n"},
		"Sent":          {"\\Answered \\Seen|Subject: c\n\nbody c\n"},
		"Work/Projects": {"\\Flagged|Subject: d\n\nbody d\n"},
		"Köln":          {"|Subject: e\n\nbody e\n"},
		"Trash":         {"\\Deleted \\Seen|Subject: f\n\nbody f\n"},
	}
	for folder, want := range checks {
		if got := contents(t, st, user, folder); !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", folder, got, want)
		}
	}
	acct, _ := st.Account(ctx, user)
	msgs, _ := acct.Messages(ctx, storage.Inbox)
	if !msgs[0].InternalDate.Equal(time.Date(2015, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Errorf("internal date %v", msgs[0].InternalDate)
	}
	sum, err = Maildir(ctx, MaildirOptions{Options: Options{Store: st, User: user}, Dir: src})
	if err != nil || sum.Messages != 0 || sum.Skipped != 6 {
		t.Fatalf("second run %+v, %v", sum, err)
	}
}

func TestExportRoundTrip(t *testing.T) {
	t.Parallel()
	for _, format := range []string{FormatMaildir, FormatMbox} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			st, user := newAccount(t)
			src := t.TempDir()
			writeDovecotMaildir(t, src)
			ctx := context.Background()
			if _, err := Maildir(ctx, MaildirOptions{Options: Options{Store: st, User: user}, Dir: src}); err != nil {
				t.Fatal(err)
			}
			// A body line that needs escaping in mbox.
			acct, _ := st.Account(ctx, user)
			if _, err := acct.Deliver(ctx, "Sent", strings.NewReader("Subject: g\r\n\r\nFrom me\r\n>From you\r\n"), storage.DeliverOptions{}); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			sum, err := Export(ctx, ExportOptions{Store: st, User: user, Format: format, Dir: out})
			if err != nil || sum.Messages != 7 {
				t.Fatalf("export %+v %v", sum, err)
			}
			st2, user2 := newAccount(t)
			if format == FormatMaildir {
				_, err = Maildir(ctx, MaildirOptions{Options: Options{Store: st2, User: user2}, Dir: out})
			} else {
				var files []string
				filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
					if strings.HasSuffix(p, ".mbox") {
						files = append(files, p)
					}
					return nil
				})
				for _, f := range files {
					rel, _ := filepath.Rel(out, f)
					if _, err = Mbox(ctx, MboxOptions{Options: Options{Store: st2, User: user2}, Files: []string{f}, Folder: strings.TrimSuffix(rel, ".mbox")}); err != nil {
						break
					}
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, folder := range []string{storage.Inbox, "Sent", "Work/Projects", "Köln", "Trash"} {
				a, b := contents(t, st, user, folder), contents(t, st2, user2, folder)
				if !slices.Equal(a, b) {
					t.Errorf("%s: after round trip %q, before %q", folder, b, a)
				}
			}
			m1, _ := acct.Messages(ctx, storage.Inbox)
			acct2, _ := st2.Account(ctx, user2)
			m2, _ := acct2.Messages(ctx, storage.Inbox)
			if len(m1) != len(m2) || !m1[1].InternalDate.Equal(m2[1].InternalDate) {
				t.Errorf("internal dates differ: %v vs %v", m1, m2)
			}
		})
	}
}

func TestTargetFolder(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		delim rune
		attrs []string
		want  string
		skip  bool
	}{
		{"INBOX", '/', nil, "INBOX", false},
		{"Sent Items", '/', nil, "Sent", false},
		{"INBOX.Sent", '.', nil, "Sent", false},
		{"INBOX.Customers.ACME", '.', nil, "Customers/ACME", false},
		{"[Gmail]/Sent Mail", '/', []string{`\Sent`}, "Sent", false},
		{"[Gmail]/All Mail", '/', []string{`\All`}, "", true},
		{"[Gmail]/Spam", '/', nil, "Junk", false},
		{"Deleted Items", '/', nil, "Trash", false},
		{"Junk E-mail", '/', nil, "Junk", false},
		{"Gesendete Objekte", '/', nil, "Sent", false},
		{"Mes envois", '/', []string{`\Sent`}, "Sent", false},
		{"v1.2 notes", '/', nil, "v1_2 notes", false},
		{"Projects/Sent", '/', nil, "Projects/Sent", false},
	} {
		got, skip := TargetFolder(c.name, c.delim, c.attrs)
		if got != c.want || skip != c.skip {
			t.Errorf("TargetFolder(%q) = %q, %v; want %q, %v", c.name, got, skip, c.want, c.skip)
		}
	}
}
