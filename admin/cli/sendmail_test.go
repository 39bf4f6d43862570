package cli

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"yubin/admin/control"
	"yubin/delivery"
)

// recordingSubmitter keeps the submissions; "nobody@" recipients are
// refused permanently, "later@" ones temporarily.
type recordingSubmitter struct {
	mu   sync.Mutex
	subs []submission
}

type submission struct {
	from string
	to   []string
	msg  string
}

func (r *recordingSubmitter) Submit(_ context.Context, from string, to []string, msg io.Reader) (delivery.ID, error) {
	b, err := io.ReadAll(msg)
	if err != nil {
		return "", err
	}
	for _, a := range to {
		if strings.HasPrefix(a, "nobody@") {
			return "", &delivery.Error{Code: 550, Enhanced: [3]int{5, 1, 1}, Public: "No such user"}
		}
		if strings.HasPrefix(a, "later@") {
			return "", delivery.AsError(errors.New("disk full"))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs = append(r.subs, submission{from, to, string(b)})
	return "AGRATAAAAAAA", nil
}

func (r *recordingSubmitter) last() submission {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.subs) == 0 {
		return submission{}
	}
	return r.subs[len(r.subs)-1]
}

// startControl serves the control socket and the submit socket in
// dataDir, as maild --dev does.
func startControl(t *testing.T, dataDir string, opts control.Options) {
	t.Helper()
	for _, sock := range []struct {
		name   string
		mode   fs.FileMode
		submit bool
	}{{"control.sock", control.ControlMode, false}, {"submit.sock", control.SubmitMode, true}} {
		l, err := control.Listen(filepath.Join(dataDir, sock.name), sock.mode, "")
		if err != nil {
			t.Fatal(err)
		}
		o := opts
		o.SubmitOnly = sock.submit
		srv := control.NewServer(o)
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
	}
}

func exitStatus(err error) int {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if err != nil {
		return 1
	}
	return 0
}

func TestSendmail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := &recordingSubmitter{}
	startControl(t, dir, control.Options{Submitter: sub, Hostname: "mail.acme.test"})

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		from  string
		to    string
		msg   string // the submitted message
	}{
		{
			name:  "-t removes Bcc and adds From with -F",
			stdin: "To: Kim <kim@acme.test>, leo@acme.test\nCc: \"Doe, J\" <j@remote.test>\nBcc: mia@acme.test,\n  zed@acme.test\nSubject: hi\n\nbody\n",
			args:  []string{"-t", "-f", "cron@acme.test", "-F", "Cron Daemon", "-oi", "-odi", "-v", "extra@acme.test"},
			from:  "cron@acme.test",
			to:    "extra@acme.test kim@acme.test leo@acme.test j@remote.test mia@acme.test zed@acme.test",
			msg:   "From: \"Cron Daemon\" <cron@acme.test>\r\nTo: Kim <kim@acme.test>, leo@acme.test\r\nCc: \"Doe, J\" <j@remote.test>\r\nSubject: hi\r\n\r\nbody\n",
		},
		{
			name:  "attached values, an existing From is kept, a lone dot ends input",
			stdin: "From: Alice <alice@acme.test>\nSubject: x\n\nline\n.\nnot sent\n",
			args:  []string{"-falice@acme.test", "-FIgnored", "--", "bob@acme.test"},
			from:  "alice@acme.test",
			to:    "bob@acme.test",
			msg:   "From: Alice <alice@acme.test>\r\nSubject: x\r\n\r\nline\n",
		},
		{
			name:  "-i keeps dots; bare names get the hostname; default sender",
			stdin: "Subject: y\n\n.\n..\n",
			args:  []string{"-i", "root", "Bob@ACME.test"},
			from:  "@mail.acme.test",
			to:    "root@mail.acme.test bob@acme.test",
			msg:   "Subject: y\r\n\r\n.\n..\n",
		},
		{
			name:  "no header at all",
			stdin: "just text\nmore\n",
			args:  []string{"-f", "<>", "bob@acme.test"},
			from:  "",
			to:    "bob@acme.test",
			msg:   "\r\njust text\nmore\n",
		},
		{
			name:  "dot in the header ends the message",
			stdin: "Subject: z\n.\nignored\n",
			args:  []string{"-r", "a@acme.test", "bob@acme.test"},
			from:  "a@acme.test",
			to:    "bob@acme.test",
			msg:   "From: a@acme.test\r\nSubject: z\r\n\r\n",
		},
	} {
		out, errOut, err := run(t, dir, tc.stdin, append([]string{"sendmail"}, tc.args...)...)
		if err != nil {
			t.Errorf("%s: %v\n%s", tc.name, err, errOut)
			continue
		}
		if out != "" {
			t.Errorf("%s: sendmail printed %q on success", tc.name, out)
		}
		got := sub.last()
		fromOK := got.from == tc.from || strings.HasPrefix(tc.from, "@") && strings.HasSuffix(got.from, tc.from)
		if !fromOK || strings.Join(got.to, " ") != tc.to {
			t.Errorf("%s: envelope %q -> %q, want %q -> %q", tc.name, got.from, got.to, tc.from, tc.to)
		}
		want := tc.msg
		if strings.HasPrefix(tc.from, "@") {
			want = "From: " + got.from + "\r\n" + want
		}
		// The control server turns bare LFs into CRLF on the way in.
		if wantWire := strings.ReplaceAll(strings.ReplaceAll(want, "\r\n", "\n"), "\n", "\r\n"); got.msg != wantWire {
			t.Errorf("%s: message\n%q\nwant\n%q", tc.name, got.msg, wantWire)
		}
	}

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"no recipients", "Subject: x\n\nx\n", nil, 64, "no recipients"},
		{"-t without recipients", "Subject: x\n\nx\n", []string{"-t"}, 64, "no recipients"},
		{"unknown option", "x\n", []string{"-bs"}, 64, "unsupported option -bs"},
		{"missing value", "x\n", []string{"-f"}, 64, "needs a value"},
		{"bad recipient", "x\n", []string{"a@b@c"}, 67, "bad recipient"},
		{"refused recipient", "x\n", []string{"nobody@acme.test"}, 67, "5.1.1"},
		{"temporary failure", "x\n", []string{"later@acme.test"}, 75, "4.3.0"},
		{"bad To header", "To: <broken\n\nx\n", []string{"-t"}, 65, "To: header"},
	} {
		_, errOut, err := run(t, dir, tc.stdin, append([]string{"sendmail"}, tc.args...)...)
		if exitStatus(err) != tc.code || !strings.Contains(errOut, tc.want) || !strings.HasPrefix(errOut, "sendmail: ") && tc.code != 64 {
			t.Errorf("%s: exit %d (%v), stderr %q; want %d and %q", tc.name, exitStatus(err), err, errOut, tc.code, tc.want)
		}
	}

	// -bi (newaliases) and --help succeed without a message.
	if _, _, err := run(t, dir, "", "sendmail", "-bi"); err != nil {
		t.Errorf("-bi: %v", err)
	}
	if out, _, err := run(t, dir, "", "sendmail", "--help"); err != nil || !strings.Contains(out, "usage: sendmail") {
		t.Errorf("--help: %q %v", out, err)
	}
	// maild not running: EX_TEMPFAIL, so cron and scripts try again.
	_, errOut, err := run(t, t.TempDir(), "x\n", "sendmail", "bob@acme.test")
	if exitStatus(err) != 75 || !strings.Contains(errOut, "maild is not running") {
		t.Errorf("maild down: exit %d, %q", exitStatus(err), errOut)
	}
}

func TestQueueCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// No maild: a clear error naming the socket.
	_, errOut, err := run(t, dir, "", "queue", "list")
	if err == nil || !strings.Contains(errOut, "maild is not running (no control socket at "+filepath.Join(dir, "control.sock")+")") {
		t.Errorf("queue list without maild: %v %q", err, errOut)
	}
	startControl(t, dir, control.Options{Submitter: &recordingSubmitter{}})
	// This server has no queue: the daemon's answer is passed on.
	if _, errOut, err := run(t, dir, "", "queue", "list"); err == nil || !strings.Contains(errOut, "not available") {
		t.Errorf("queue list without a queue: %v %q", err, errOut)
	}
	if _, errOut, err := run(t, dir, "", "queue", "retry"); err == nil || !strings.Contains(errOut, "give a queue ID or --all") {
		t.Errorf("queue retry without an id: %v %q", err, errOut)
	}
}
