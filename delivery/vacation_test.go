package delivery

import (
	"context"
	"strings"
	"testing"
	"time"

	"yubin/storage"
)

func TestVacationSkip(t *testing.T) {
	t.Parallel()
	user := storage.Address{Local: "alice", Domain: "acme.test"}
	base := "From: bob@x.test\r\nTo: Alice <alice@acme.test>\r\nSubject: hi\r\n"
	for _, tc := range []struct {
		name, sender, head, want string
	}{
		{"ok", "bob@x.test", base, ""},
		{"cc", "bob@x.test", "To: other@x.test\r\nCc: alice@ACME.test\r\n", ""},
		{"null sender", "", base, "null sender"},
		{"mailer-daemon", "MAILER-DAEMON@x.test", base, "automated sender"},
		{"request", "list-request@x.test", base, "automated sender"},
		{"list-id", "bob@x.test", base + "List-Id: <l.x.test>\r\n", "mailing list"},
		{"list-unsubscribe", "bob@x.test", base + "List-Unsubscribe: <mailto:u@x.test>\r\n", "mailing list"},
		{"precedence bulk", "bob@x.test", base + "Precedence: Bulk\r\n", "Precedence"},
		{"precedence list", "bob@x.test", base + "Precedence: list\r\n", "Precedence"},
		{"auto-submitted", "bob@x.test", base + "Auto-Submitted: auto-replied\r\n", "Auto-Submitted"},
		{"auto-submitted no", "bob@x.test", base + "Auto-Submitted: no\r\n", ""},
		{"not addressed", "bob@x.test", "To: team@x.test\r\n", "not in To/Cc"},
		{"own", "alice@acme.test", base, "own message"},
	} {
		h := readHeader(strings.NewReader(tc.head+"\r\nbody\r\n"), 10)
		got := vacationSkip(tc.sender, user, "alice@acme.test", h)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: vacationSkip = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestVacationReplyOncePerSender(t *testing.T) {
	t.Parallel()
	const user = "alice@acme.test"
	f := newMDAFixture(t, user)
	ctx := context.Background()
	if err := f.st.SetVacation(ctx, user, storage.Vacation{Subject: "Out of office", Message: "I am away.\nBack Monday — Alice"}); err != nil {
		t.Fatal(err)
	}
	msg := "From: Bob <bob@x.test>\r\nTo: alice@acme.test\r\nSubject: lunch?\r\nMessage-ID: <m1@x.test>\r\n\r\nbody\r\n"
	f.send(t, "bob@x.test", user, msg)
	f.send(t, "bob@x.test", user, strings.Replace(msg, "m1@", "m2@", 1))
	f.send(t, "list@x.test", user, "From: list@x.test\r\nTo: alice@acme.test\r\nList-Id: <l.x.test>\r\n\r\nbody\r\n")
	f.send(t, "", user, "From: daemon@x.test\r\nTo: alice@acme.test\r\n\r\nbounce\r\n")
	envs, msgs := f.out.sent()
	if len(envs) != 1 {
		t.Fatalf("%d replies queued, want 1: %+v", len(envs), envs)
	}
	if envs[0].From != "" || len(envs[0].To) != 1 || envs[0].To[0] != "bob@x.test" {
		t.Fatalf("reply envelope = %+v", envs[0])
	}
	for _, want := range []string{"From: <alice@acme.test>\r\n", "To: <bob@x.test>\r\n", "Subject: Out of office\r\n",
		"In-Reply-To: <m1@x.test>\r\n", "References: <m1@x.test>\r\n", "Auto-Submitted: auto-replied", "I am away.\r\nBack Monday"} {
		if !strings.Contains(msgs[0], want) {
			t.Errorf("reply lacks %q:\n%s", want, msgs[0])
		}
	}
	if got := messages(t, f.st, user, "INBOX"); len(got) != 4 {
		t.Fatalf("INBOX = %d messages, want 4", len(got))
	}
	// Expired vacation: no reply.
	if err := f.st.SetVacation(ctx, user, storage.Vacation{Subject: "x", Message: "y", Until: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.send(t, "carl@x.test", user, "From: carl@x.test\r\nTo: alice@acme.test\r\n\r\nbody\r\n")
	if envs, _ := f.out.sent(); len(envs) != 1 {
		t.Fatalf("expired vacation replied: %d", len(envs))
	}
}

func TestVacationNotForDiscardedOrJunk(t *testing.T) {
	t.Parallel()
	const user = "alice@acme.test"
	f := newMDAFixture(t, user)
	ctx := context.Background()
	if err := f.st.SetVacation(ctx, user, storage.Vacation{Message: "away"}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetSieve(ctx, user, `if header :contains "subject" "drop" { discard; }`); err != nil {
		t.Fatal(err)
	}
	f.send(t, "bob@x.test", user, "To: alice@acme.test\r\nSubject: drop me\r\n\r\nbody\r\n")
	f.send(t, "bob@x.test", user, JunkHeader+": yes\r\nTo: alice@acme.test\r\nSubject: spam\r\n\r\nbody\r\n")
	if envs, _ := f.out.sent(); len(envs) != 0 {
		t.Fatalf("replies to discarded/junk mail: %+v", envs)
	}
	// Default subject: "Auto: " + the original one.
	f.send(t, "bob@x.test", user, "To: alice@acme.test\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\nbody\r\n")
	_, msgs := f.out.sent()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "Subject: =?utf-8?q?Auto:_caf=C3=A9?=\r\n") {
		t.Fatalf("reply = %q", msgs)
	}
}
