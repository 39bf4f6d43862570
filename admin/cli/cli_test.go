package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"yubin/storage"
)

// run executes mailctl in-process against dataDir with stdin.
func run(t *testing.T, dataDir, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewRootCommand(&out, &errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(append([]string{"--data", dataDir}, args...))
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func newDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	st, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	return dir
}

func TestUserLifecycle(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	steps := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"domain", "add", "acme.test"}, "added domain acme.test"},
		{"pw\n", []string{"user", "add", "alice@acme.test", "--password-stdin", "--quota", "1G"}, "added user alice@acme.test (quota 1.0 GiB)"},
		{"", []string{"user", "quota", "alice@acme.test", "0"}, "quota of alice@acme.test set to unlimited"},
		{"pw2\n", []string{"user", "passwd", "alice@acme.test", "--password-stdin"}, "password changed"},
		{"", []string{"alias", "add", "sales@acme.test", "alice@acme.test", "ext@remote.test"}, "alias sales@acme.test -> alice@acme.test, ext@remote.test"},
		{"", []string{"alias", "list"}, "sales@acme.test  alice@acme.test, ext@remote.test"},
		{"", []string{"user", "list"}, "alice@acme.test  true     unlimited  0 B"},
		{"", []string{"alias", "remove", "sales@acme.test"}, "removed alias sales@acme.test"},
		{"", []string{"user", "remove", "alice@acme.test"}, "Maildir kept"},
		{"", []string{"domain", "remove", "acme.test"}, "removed domain acme.test"},
	}
	for _, s := range steps {
		out, errOut, err := run(t, dir, s.stdin, s.args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", s.args, err, errOut)
		}
		if !strings.Contains(out, s.want) {
			t.Errorf("%v: output %q lacks %q", s.args, out, s.want)
		}
	}
	// The password set last is the one that authenticates.
	st, _ := storage.Open(dir, storage.Options{})
	defer st.Close()
	if _, err := st.Authenticate(t.Context(), "alice@acme.test", "pw2"); err == nil {
		t.Errorf("removed user still authenticates")
	}
}

func TestJSONLists(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	run(t, dir, "", "domain", "add", "b.test")
	run(t, dir, "", "domain", "add", "a.test")
	run(t, dir, "pw\n", "user", "add", "x@a.test", "--password-stdin")
	out, _, err := run(t, dir, "", "domain", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ds []map[string]string
	if err := json.Unmarshal([]byte(out), &ds); err != nil || len(ds) != 2 || ds[0]["name"] != "a.test" {
		t.Fatalf("domain list --json = %s (%v)", out, err)
	}
	out, _, _ = run(t, dir, "", "user", "list", "--json")
	var us []map[string]any
	if err := json.Unmarshal([]byte(out), &us); err != nil || len(us) != 1 || us[0]["address"] != "x@a.test" || us[0]["enabled"] != true {
		t.Fatalf("user list --json = %s (%v)", out, err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	run(t, dir, "", "domain", "add", "acme.test")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "add", "a@nodomain.test", "--password-stdin"}, "not a local domain"},
		{[]string{"user", "add", "bad address", "--password-stdin"}, "bad address"},
		{[]string{"user", "add", "a@acme.test"}, "use --password-stdin"}, // stdin is no terminal
		{[]string{"user", "quota", "a@acme.test", "lots"}, "invalid size"},
		{[]string{"domain", "add", "acme.test"}, "exists"},
		{[]string{"domain", "add", "bad_domain!"}, "bad_domain!"},
		{[]string{"alias", "remove", "none@acme.test"}, "none@acme.test"},
		{[]string{"user"}, ""}, // help, no error
	} {
		_, errOut, err := run(t, dir, "", tc.args...)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%v: %v", tc.args, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%v: want error", tc.args)
			continue
		}
		if !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, errOut, tc.want)
		}
	}
	// A wrong --data is refused instead of creating a new server.
	_, errOut, err := run(t, filepath.Join(dir, "typo"), "", "domain", "list")
	if err == nil || !strings.Contains(errOut, "does not exist") {
		t.Errorf("missing data dir: err %v, stderr %q", err, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "typo")); err == nil {
		t.Errorf("mailctl created the mistyped data dir")
	}
}
