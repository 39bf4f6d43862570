package cli

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"yubin/storage"
)

// zoneLine matches what dkim generate and show print.
var zoneLine = regexp.MustCompile(`^([a-z0-9.-]+)\._domainkey\.([a-z0-9.-]+)\. IN TXT( "[^"]{1,255}")+\n$`)

func TestDKIMCommands(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	run(t, dir, "", "domain", "add", "acme.test")

	out, errOut, err := run(t, dir, "", "dkim", "generate", "acme.test")
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, errOut)
	}
	m := zoneLine.FindStringSubmatch(out)
	wantSel := "yubin" + time.Now().UTC().Format("200601")
	if m == nil || m[1] != wantSel || m[2] != "acme.test" || !strings.Contains(out, `"v=DKIM1; k=rsa; p=`) {
		t.Fatalf("generate printed %q", out)
	}
	if !strings.Contains(errOut, "publish this TXT record") {
		t.Errorf("generate stderr %q", errOut)
	}
	// show prints the same record; the key works for signing.
	show, _, err := run(t, dir, "", "dkim", "show", "ACME.test")
	if err != nil || show != out {
		t.Errorf("show = %q, %v; want %q", show, err, out)
	}

	// A second generate is refused without --force and leaves the key alone.
	_, errOut, err = run(t, dir, "", "dkim", "generate", "acme.test", "--algorithm", "ed25519")
	if err == nil || !strings.Contains(errOut, "already has a DKIM key") || !strings.Contains(errOut, "--force") {
		t.Errorf("generate over a key: %v %q", err, errOut)
	}
	out2, errOut, err := run(t, dir, "", "dkim", "generate", "acme.test", "--algorithm", "ed25519", "--selector", "s2026", "--force")
	if err != nil {
		t.Fatalf("generate --force: %v %s", err, errOut)
	}
	if !strings.HasPrefix(out2, `s2026._domainkey.acme.test. IN TXT "v=DKIM1; k=ed25519; p=`) || strings.Count(out2, `"`) != 2 {
		t.Errorf("ed25519 record %q", out2)
	}
	if !strings.Contains(errOut, "replaced the key with selector "+wantSel) {
		t.Errorf("replace notice %q", errOut)
	}

	out, _, err = run(t, dir, "", "dkim", "list", "--json")
	var infos []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &infos) != nil || len(infos) != 1 ||
		infos[0]["domain"] != "acme.test" || infos[0]["selector"] != "s2026" || infos[0]["algorithm"] != "ed25519" ||
		infos[0]["record_name"] != "s2026._domainkey.acme.test." || !strings.HasPrefix(infos[0]["record"].(string), "v=DKIM1; k=ed25519; p=") {
		t.Fatalf("list --json = %s (%v)", out, err)
	}
	if strings.Contains(out, "PRIVATE") {
		t.Errorf("list shows the private key")
	}
	out, _, _ = run(t, dir, "", "dkim", "list")
	if !strings.Contains(out, "acme.test  s2026") {
		t.Errorf("list = %q", out)
	}

	// The stored key is what submission signs with.
	st, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, err := st.DKIMKey(t.Context(), "acme.test")
	st.Close()
	if err != nil || k.Selector != "s2026" {
		t.Fatalf("stored key %+v, %v", k, err)
	}
	if _, err := storage.ParseDKIMPrivateKey(k.Algorithm, k.PrivateKeyPEM); err != nil {
		t.Error(err)
	}

	if out, _, err := run(t, dir, "", "dkim", "remove", "acme.test"); err != nil || !strings.Contains(out, "removed the DKIM key of acme.test") {
		t.Errorf("remove: %q %v", out, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dkim", "show", "acme.test"}, "not found"},
		{[]string{"dkim", "remove", "acme.test"}, "not found"},
		{[]string{"dkim", "generate", "other.test"}, "not a local domain"},
		{[]string{"dkim", "generate", "acme.test", "--algorithm", "dsa"}, "use rsa or ed25519"},
		{[]string{"dkim", "generate", "acme.test", "--selector", "bad_selector"}, "bad_selector"},
	} {
		_, errOut, err := run(t, dir, "", tc.args...)
		if err == nil || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: %v, stderr %q; want %q", tc.args, err, errOut, tc.want)
		}
	}
	// A domain whose only state is a key can be removed.
	run(t, dir, "", "dkim", "generate", "acme.test", "--algorithm", "ed25519")
	if _, errOut, err := run(t, dir, "", "domain", "remove", "acme.test"); err != nil {
		t.Errorf("domain remove with a key: %v %s", err, errOut)
	}
}
