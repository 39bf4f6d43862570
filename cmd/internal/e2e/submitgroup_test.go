package e2e

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestSubmitGroupSeparation: a local user in the submit group can send
// mail with sendmail (through the submit socket), but cannot use the
// control socket (queue control) nor read yubin.db or anything else under
// the data directory; a user outside the group cannot submit. Runs the
// real mailctl as another uid, so it needs root.
func TestSubmitGroupSeparation(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root to run sendmail as another user")
	}
	// A uid and gid that no account uses: setuid needs no passwd entry,
	// and the submit group is given by number.
	const uid, submitGID, otherGID = 54321, 54322, 54323
	base := t.TempDir()
	traversable(base)
	run := filepath.Join(base, "run")
	bin := filepath.Join(base, "bin")
	for _, d := range []string{run, bin} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The test binaries' directory is 0700: the user gets a copy.
	mailctl := filepath.Join(bin, "mailctl")
	copyFile(t, filepath.Join(binDir, "mailctl"), mailctl, 0o755)

	dataDir := filepath.Join(base, "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	controlSock, submitSock := filepath.Join(run, "control.sock"), filepath.Join(run, "submit.sock")
	s := startServer(t, dataDir,
		`control.socket = "`+controlSock+`"`,
		`control.submit_socket = "`+submitSock+`"`,
		`control.submit_group = "`+strconv.Itoa(submitGID)+`"`)
	s.addUser("una@acme.test")

	// What the local user reads: a config naming the sockets (maild's own
	// config is the daemon's).
	userCfg := filepath.Join(run, "sendmail.toml")
	if err := os.WriteFile(userCfg, []byte("hostname = \"mail.example.test\"\n[control]\nsocket = \""+controlSock+"\"\nsubmit_socket = \""+submitSock+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(userCfg, 0o644)

	as := func(gids []uint32, stdin string, name string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Dir = base
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + base}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gids[0], Groups: gids[1:]}}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out.String(), code
	}
	member := []uint32{otherGID, submitGID}

	// A member submits.
	out, code := as(member, "Subject: from a local service\n\nsent through the submit socket\n",
		mailctl, "--config", userCfg, "sendmail", "-f", "backup@acme.test", "una@acme.test")
	if code != 0 {
		t.Fatalf("sendmail as a member of the submit group: exit %d\n%s", code, out)
	}
	s.waitDelivered("una@acme.test", 1)
	if got := s.newFiles("una@acme.test"); len(got) != 1 || !strings.Contains(got[0], "sent through the submit socket") {
		t.Fatalf("delivered: %q", got)
	}

	// The same member cannot administer: the control socket is 0600.
	out, code = as(member, "", mailctl, "--config", userCfg, "queue", "list")
	if code == 0 || !strings.Contains(out, "permission denied") {
		t.Errorf("mailctl queue list as a member of the submit group: exit %d, %q; want permission denied", code, out)
	}
	// Nor read the directory database or a Maildir.
	for _, p := range []string{filepath.Join(dataDir, "yubin.db"), filepath.Join(s.maildir("una@acme.test"), "new")} {
		if out, code := as(member, "", "/bin/ls", "-l", p); code == 0 {
			t.Errorf("%s is readable by a member of the submit group:\n%s", p, out)
		}
	}
	// And nothing under the data directory is open to group or others
	// (but the self-signed certificate, which is public).
	filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err == nil && fi.Mode().Perm()&0o077 != 0 && !strings.HasSuffix(p, ".crt") {
			t.Errorf("%s: mode %v", p, fi.Mode())
		}
		return nil
	})

	// Outside the group, sendmail is refused (EX_NOPERM).
	out, code = as([]uint32{otherGID}, "Subject: x\n\nx\n", mailctl, "--config", userCfg, "sendmail", "-f", "x@acme.test", "una@acme.test")
	if code != 77 {
		t.Errorf("sendmail outside the submit group: exit %d, want 77\n%s", code, out)
	}
}

func copyFile(t *testing.T, src, dst string, mode fs.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dst, mode)
}
