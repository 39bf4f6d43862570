package imapd

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Dovecot is the reference for ENVELOPE, BODY and BODYSTRUCTURE: the
// corpus goes into a Maildir, a private Dovecot answers "doveadm fetch"
// with the same lib-imap writers its IMAP FETCH uses, and every answer
// must equal ours, strings compared after canonicalIMAP (Dovecot sends
// a string with TAB or '"' as a literal where we quote it; both are
// valid). Where Yubin follows the RFC and Dovecot does not, the answer
// is in rfcOverDovecot with the reason.
//
// cmd/internal/testpeers starts Dovecot for the e2e tests, but imapd
// may not import it (internal to cmd/): startDoveadm is the small part
// of it this test needs.

// skipOrFailEnv skips a test that needs something missing, but fails it
// when CI is set: CI must run every test.
func skipOrFailEnv(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (required when CI is set)", msg)
	}
	t.Skip(msg)
}

// doveadm runs doveadm against a private Dovecot started by startDoveadm.
type doveadm struct {
	t    testing.TB
	bin  string
	conf string
}

// startDoveadm starts a private Dovecot without listeners on maildir,
// for doveadm, as Nobody (65534). It needs root.
func startDoveadm(t testing.TB, maildir string) *doveadm {
	t.Helper()
	dovecot, err1 := exec.LookPath("dovecot")
	if err1 != nil {
		dovecot = "/usr/sbin/dovecot"
	}
	bin, err2 := exec.LookPath("doveadm")
	if _, err := os.Stat(dovecot); err != nil || err2 != nil {
		skipOrFailEnv(t, "dovecot and doveadm are not installed")
	}
	if os.Geteuid() != 0 {
		skipOrFailEnv(t, "needs root to start a private Dovecot")
	}
	dir, err := os.MkdirTemp("", "yubin-envelope-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, sub := range []string{"run", "state", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o755)
	const nobody = 65534
	if out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", nobody, nobody), filepath.Join(dir, "home"), maildir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
	conf := filepath.Join(dir, "dovecot.conf")
	cfg := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
protocols =
mail_location = maildir:%[2]s
first_valid_uid = 1
passdb {
  driver = static
  args = password=unused
}
userdb {
  driver = static
  args = uid=%[3]d gid=%[3]d home=%[1]s/home
}
`, dir, maildir, nobody)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// Dovecot's master creates its sockets before it daemonizes: doveadm
	// works once this returns. Its output goes to a file, not to a pipe
	// the background process would keep open.
	outPath := filepath.Join(dir, "start.out")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	start := exec.Command(dovecot, "-c", conf)
	start.Stdout, start.Stderr = out, out
	if err := start.Run(); err != nil {
		b, _ := os.ReadFile(outPath)
		t.Fatalf("start dovecot: %v\n%s", err, b)
	}
	d := &doveadm{t: t, bin: bin, conf: conf}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Logf("dovecot log:\n%s", b)
		}
		exec.Command(bin, "-c", conf, "stop").Run()
	})
	return d
}

// fetch returns Dovecot's value of field (e.g. "imap.envelope") for
// every message, by Maildir base name.
func (d *doveadm) fetch(field string) map[string]string {
	d.t.Helper()
	out, err := exec.Command(d.bin, "-c", d.conf, "fetch", "-u", "u", "guid "+field, "all").Output()
	if err != nil {
		d.t.Fatalf("doveadm fetch %s: %v\n%s", field, err, out)
	}
	res := map[string]string{}
	// Records are separated by a form feed line; each is "guid: NAME\n"
	// then "FIELD: VALUE\n".
	for _, rec := range bytes.Split(out, []byte("\f\n")) {
		guid, rest, ok := bytes.Cut(rec, []byte("\n"))
		if !ok || !bytes.HasPrefix(guid, []byte("guid: ")) {
			continue
		}
		val, ok := bytes.CutPrefix(rest, []byte(field+": "))
		if !ok {
			d.t.Fatalf("doveadm record without %s: %q", field, rec)
		}
		res[string(guid[len("guid: "):])] = string(bytes.TrimSuffix(val, []byte("\n")))
	}
	return res
}

// TestEnvelopeBodyStructureDovecot compares ENVELOPE, BODY and
// BODYSTRUCTURE for every corpus message with Dovecot's.
func TestEnvelopeBodyStructureDovecot(t *testing.T) {
	t.Parallel()
	md, err := os.MkdirTemp("", "yubin-envelope-maildir-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(md) })
	os.Chmod(md, 0o755)
	for _, sub := range []string{"cur", "new", "tmp"} {
		os.Mkdir(filepath.Join(md, sub), 0o700)
	}
	for _, c := range envelopeCorpus {
		if err := os.WriteFile(filepath.Join(md, "cur", c.name+":2,"), crlf(c.msg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d := startDoveadm(t, md)
	items := []struct{ item, field string }{
		{"ENVELOPE", "imap.envelope"},
		{"BODY", "imap.body"},
		{"BODYSTRUCTURE", "imap.bodystructure"},
	}
	exact, canonical, rfc := 0, 0, 0
	for _, it := range items {
		theirs := d.fetch(it.field)
		for _, c := range envelopeCorpus {
			msg := crlf(c.msg)
			var ours string
			switch it.item {
			case "ENVELOPE":
				e, err := readEnvelope(bytes.NewReader(msg))
				if err != nil {
					t.Fatal(err)
				}
				ours = envelopeText(e)
			default:
				b, err := parseBodyStructure(bytes.NewReader(msg), int64(len(msg)))
				if err != nil {
					t.Fatal(err)
				}
				ours = bodyStructureText(b, it.item == "BODYSTRUCTURE")
			}
			ref, ok := theirs[c.name]
			if !ok {
				t.Fatalf("dovecot has no %s for %s", it.field, c.name)
			}
			// doveadm leaves out the outer parentheses.
			ref = "(" + ref + ")"
			key := c.name + " " + it.item
			if dev, ok := rfcOverDovecot[key]; ok {
				rfc++
				if ours != dev.want {
					t.Errorf("%s:\n ours %q\nwant %q (%s)", key, ours, dev.want, dev.why)
				}
				if ref == dev.want {
					t.Errorf("%s: Dovecot now agrees with us (%q): drop it from rfcOverDovecot", key, ref)
				}
				continue
			}
			if ours == ref {
				exact++
				continue
			}
			co, err1 := canonicalIMAP(ours)
			cr, err2 := canonicalIMAP(ref)
			if err1 != nil || err2 != nil || co != cr {
				t.Errorf("%s differs:\n    ours %q\n dovecot %q", key, ours, ref)
				continue
			}
			canonical++
		}
	}
	t.Logf("%d answers byte-exact with Dovecot, %d equal but for string form, %d where the RFC is followed instead", exact, canonical, rfc)
}
