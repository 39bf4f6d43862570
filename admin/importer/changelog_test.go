package importer

import (
	"os"
	"path/filepath"
	"testing"

	"yubin/storage"
)

// TestImportInChangeLog: mailctl import runs in its own process beside
// maild. Every message it imports is in the change log that maild's
// sessions poll (storage.Account.Poll), with its flags, as a new
// message with the next MODSEQs.
func TestImportInChangeLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	maild, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer maild.Close()
	ctx := t.Context()
	if _, err := maild.AddDomain(ctx, "acme.test"); err != nil {
		t.Fatal(err)
	}
	u, err := maild.AddUser(ctx, "ann@acme.test", "pw", 0)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := maild.Account(ctx, u.Address)
	if err != nil {
		t.Fatal(err)
	}
	since, err := acct.HighestModSeq(ctx, storage.Inbox)
	if err != nil {
		t.Fatal(err)
	}

	mailctl, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mailctl.Close()
	file := filepath.Join(t.TempDir(), "Inbox")
	if err := os.WriteFile(file, []byte(trickyMbox), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := Mbox(ctx, MboxOptions{Options: Options{Store: mailctl, User: u.Address}, Files: []string{file}})
	if err != nil || sum.Messages != 3 {
		t.Fatalf("import: %+v, %v", sum, err)
	}

	p, err := acct.Poll(ctx, storage.Inbox, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 3 || p.HighestModSeq != since+3 {
		t.Fatalf("maild's Poll(%d) after the import = %d changes up to %d; want 3 up to %d", since, len(p.Changes), p.HighestModSeq, since+3)
	}
	for i, c := range p.Changes {
		if c.Kind != storage.MessageAdded || c.ModSeq != since+1+uint64(i) || c.Message.Size == 0 {
			t.Errorf("change %d = %+v; want a new message at %d", i, c, since+1+uint64(i))
		}
	}
	if fl := p.Changes[0].Flags; len(fl) != 2 || fl[0] != `\Flagged` || fl[1] != `\Seen` {
		t.Errorf("first imported message's flags = %q; want \\Flagged \\Seen", fl)
	}
}
