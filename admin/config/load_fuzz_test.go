package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load as maild.toml: it must never
// panic, and a configuration it accepts must pass Validate.
func FuzzLoad(f *testing.F) {
	if b, err := os.ReadFile(examplePath); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"hostname = \"mail.example.com\"\n",
		"[smtp]\nlisten = [\"127.0.0.1:25\"]\n",
		"[smtp]\ntls_cert = 1\n",
		"hostname = 5\n",
		"[queue]\nmax_age = \"5m\"\n",
		"[queue]\nmax_age = 300\n",
		"[[x]]\n[x.y]\nz = [1, \"a\"]\n",
		"a.b.c = 1\n\"quoted key\" = 2\n",
		"hostname = \"\"\"\nmulti\nline\"\"\"\n",
		"= 1\n",
		"[smtp\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "maild.toml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, Default())
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("empty error for %q", data)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Load accepted %q but Validate fails: %v", data, err)
		}
	})
}
