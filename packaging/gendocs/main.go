// Command gendocs writes mailctl's man pages and shell completions from the
// cobra command tree, for the deb and rpm packages:
//
//	go run ./packaging/gendocs [-version V] OUTDIR
//
// It creates OUTDIR/man1/mailctl*.1 and OUTDIR/completions/{mailctl.bash,
// _mailctl,mailctl.fish}. Pages are dated from SOURCE_DATE_EPOCH when it is
// set, so a rebuild of the same commit gives the same files.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"yubin/admin/cli"
)

func main() {
	version := flag.String("version", "", "version shown in the man page footer")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: gendocs [-version V] OUTDIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := generate(flag.Arg(0), *version); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func generate(out, version string) error {
	root := cli.NewRootCommand(io.Discard, io.Discard)
	disableAutoGenTag(root)

	manDir := filepath.Join(out, "man1")
	compDir := filepath.Join(out, "completions")
	for _, d := range []string{manDir, compDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	source := "Yubin"
	if version != "" {
		source += " " + version
	}
	header := &doc.GenManHeader{Section: "1", Source: source, Manual: "Yubin Manual"}
	if err := doc.GenManTree(root, header, manDir); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	completions := []struct {
		name string
		gen  func(io.Writer) error
	}{
		{"mailctl.bash", func(w io.Writer) error { return root.GenBashCompletionV2(w, true) }},
		{"_mailctl", root.GenZshCompletion},
		{"mailctl.fish", func(w io.Writer) error { return root.GenFishCompletion(w, true) }},
	}
	for _, c := range completions {
		if err := writeFile(filepath.Join(compDir, c.name), c.gen); err != nil {
			return fmt.Errorf("completion %s: %w", c.name, err)
		}
	}
	return nil
}

// disableAutoGenTag drops cobra's "Auto generated ... on DATE" line, which
// would make every build's pages differ.
func disableAutoGenTag(c *cobra.Command) {
	c.DisableAutoGenTag = true
	for _, sub := range c.Commands() {
		disableAutoGenTag(sub)
	}
}

func writeFile(path string, gen func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := gen(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
