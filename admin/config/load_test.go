package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// writeConfig writes text to maild.toml in a new temporary directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "maild.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadErr loads text over Dev and returns the error text, failing the test
// if there is none.
func loadErr(t *testing.T, text string) string {
	t.Helper()
	_, err := Load(writeConfig(t, text), Dev(t.TempDir()))
	if err == nil {
		t.Fatalf("Load(%q) succeeded, want an error", text)
	}
	return err.Error()
}

const examplePath = "../../packaging/maild.toml"

// TestExampleMatchesDefault keeps packaging/maild.toml in step with the
// schema: it loads strictly, names every key, and sets every key to its
// default except hostname.
func TestExampleMatchesDefault(t *testing.T) {
	t.Parallel()
	got, err := Load(examplePath, Default())
	if err != nil {
		t.Fatalf("Load(%s) = %v", examplePath, err)
	}
	if got.Hostname != "mail.example.com" {
		t.Errorf("example hostname = %q, want mail.example.com", got.Hostname)
	}
	want := Default()
	want.Hostname = got.Hostname
	if !reflect.DeepEqual(got, want) {
		t.Errorf("example differs from Default():\n got %+v\nwant %+v", got, want)
	}

	var c Config
	md, err := toml.DecodeFile(examplePath, &c)
	if err != nil {
		t.Fatal(err)
	}
	for name := range schemaKeys() {
		found := slices.ContainsFunc(md.Keys(), func(k toml.Key) bool { return k.String() == name })
		if !found {
			t.Errorf("example does not list key %q", name)
		}
	}
}

func TestLoadUnknownKeyLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, want string
	}{
		{"top level", "hostname = \"mail.example.com\"\n\n# comment\nhostnme = \"x\"\n", `maild.toml:4: unknown key "hostnme"`},
		{"in table", "hostname = \"mail.example.com\"\n[smtp]\nmax_recipients = 10\n\n  tls_cert = \"x\"\n", `maild.toml:5: unknown key "smtp.tls_cert"`},
		{"dotted", "hostname = \"a.example\"\n[log]\nlevel = \"info\"\nsmtp.x = 1\n", `maild.toml:4: unknown key "log.smtp"`},
		{"quoted", "[smtp]\n\"tls cert\" = 1\n", `maild.toml:2: unknown key "smtp.\"tls cert\""`},
		{"unknown table", "[smtp]\nlisten = [\n  \"127.0.0.1:25\",\n]\n[imapd]\nlisten = []\n", `maild.toml:5: unknown key "imapd"`},
		{"wrong case", "Hostname = \"a.example\"\n", `maild.toml:1: unknown key "Hostname"`},
		{"dev is not a key", "dev = true\n", `maild.toml:1: unknown key "dev"`},
		{"after multi-line string", "hostname = \"a.example\"\ndata_dir = \"\"\"\nx = 1\n\"\"\"\n\nbogus = 1\n", `maild.toml:6: unknown key "bogus"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := loadErr(t, tt.text); !strings.Contains(got, tt.want) {
				t.Errorf("error = %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

func TestLoadUnknownKeysAllReported(t *testing.T) {
	t.Parallel()
	got := loadErr(t, "a = 1\n[smtp]\nb = 2\n[x.y]\nz = 1\n")
	for _, want := range []string{`maild.toml:1: unknown key "a"`, `maild.toml:3: unknown key "smtp.b"`, `maild.toml:4: unknown key "x"`} {
		if !strings.Contains(got, want) {
			t.Errorf("error = %q, want it to contain %q", got, want)
		}
	}
	if strings.Contains(got, "x.y") {
		t.Errorf("error = %q, reports keys under an unknown table", got)
	}
}

func TestLoadTypeErrorLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, want string
	}{
		{"string for int", "[smtp]\n\nmax_recipients = \"ten\"\n", "maild.toml:3: smtp.max_recipients: incompatible types"},
		{"scalar for list", "[smtp]\nlisten = \"0.0.0.0:25\"\n", "maild.toml:2: smtp.listen:"},
		{"bad duration", "[delivery]\nretry_min = \"1 minute\"\n", `maild.toml:2: delivery.retry_min: invalid duration: "1 minute"`},
		{"bare integer duration", "[smtp]\nread_timeout = 300\n", `maild.toml:2: smtp.read_timeout: want a duration string`},
		{"syntax", "hostname = \"a.example\"\n[smtp\n", "maild.toml:2:"},
		{"missing value", "hostname =\n", "maild.toml:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := loadErr(t, tt.text); !strings.Contains(got, tt.want) {
				t.Errorf("error = %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

func TestLoadValidateErrorLine(t *testing.T) {
	t.Parallel()
	got := loadErr(t, "[smtp]\nmax_recipients = 10\nmax_connections = 0\n")
	if want := "maild.toml:3: smtp.max_connections: must be > 0"; !strings.Contains(got, want) {
		t.Errorf("error = %q, want it to contain %q", got, want)
	}
}

func TestLoadPartialOverDev(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := Dev(dir)
	got, err := Load(writeConfig(t, "[smtp]\nmax_recipients = 7\n"), base)
	if err != nil {
		t.Fatal(err)
	}
	want := Dev(dir)
	want.SMTP.MaxRecipients = 7
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load = %+v\nwant %+v", got, want)
	}
	if got.SMTP.Listen[0] != "127.0.0.1:2525" || !got.Dev {
		t.Errorf("Load lost the dev listen address or Dev flag: %+v", got)
	}
}

func TestLoadDoesNotChangeBase(t *testing.T) {
	t.Parallel()
	base := Dev(t.TempDir())
	got, err := Load(writeConfig(t, "[smtp]\nlisten = [\"127.0.0.1:2600\"]\n"), base)
	if err != nil {
		t.Fatal(err)
	}
	if got.SMTP.Listen[0] != "127.0.0.1:2600" {
		t.Errorf("listen = %v", got.SMTP.Listen)
	}
	if base.SMTP.Listen[0] != "127.0.0.1:2525" {
		t.Errorf("Load changed base: listen = %v", base.SMTP.Listen)
	}
}

func TestLoadDurations(t *testing.T) {
	t.Parallel()
	text := `
[smtp]
read_timeout = "30s"
write_timeout = "1m30s"
shutdown_timeout = "2s"

[delivery]
retry_min = "10s"
retry_max = "2h"
max_age = "72h"
`
	got, err := Load(writeConfig(t, text), Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{
		{"smtp.read_timeout", got.SMTP.ReadTimeout, 30 * time.Second},
		{"smtp.write_timeout", got.SMTP.WriteTimeout, 90 * time.Second},
		{"smtp.shutdown_timeout", got.SMTP.ShutdownTimeout, 2 * time.Second},
		{"delivery.retry_min", got.Delivery.RetryMin, 10 * time.Second},
		{"delivery.retry_max", got.Delivery.RetryMax, 2 * time.Hour},
		{"delivery.max_age", got.Delivery.MaxAge, 72 * time.Hour},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nope.toml")
	_, err := Load(path, Default())
	if err == nil || !os.IsNotExist(err) || !strings.Contains(err.Error(), path) {
		t.Errorf("Load(missing) = %v", err)
	}
}

func TestIndexKeys(t *testing.T) {
	t.Parallel()
	text := `# header
a = 1
b.c = 2   # dotted
"d e".'f' = 3
[t]
x = 1
[[arr]]
y = 2
[t.u.v]
z = """
not = a key
"""
w = 4
`
	idx := indexKeys(text)
	want := map[string]int{"a": 2, "b": 3, "b.c": 3, `"d e"`: 4, `"d e".f`: 4, "t": 5, "t.x": 6, "arr": 7, "arr.y": 8, "t.u": 9, "t.u.v": 9, "t.u.v.z": 10, "t.u.v.w": 13}
	if fmt.Sprint(map[string]int(idx)) != fmt.Sprint(want) {
		t.Errorf("indexKeys =\n %v\nwant\n %v", map[string]int(idx), want)
	}
}
