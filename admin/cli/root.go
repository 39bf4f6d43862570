// Package cli is mailctl's cobra command tree. NewRootCommand builds it
// with explicit output streams so tests run it without a process.
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"yubin/admin/config"
	"yubin/storage"
)

// DefaultConfigPath is where packages install the config.
const DefaultConfigPath = "/etc/yubin/maild.toml"

// Version is what `mailctl --version` prints, stamped at build time:
//
//	go build -ldflags "-X yubin/admin/cli.Version=1.2.3" ./cmd/mailctl
var Version = "devel"

// globals are the flags every command shares.
type globals struct {
	configPath string
	dataDir    string
	out        io.Writer
}

// NewRootCommand returns the mailctl command tree writing to out and errOut.
func NewRootCommand(out, errOut io.Writer) *cobra.Command {
	g := &globals{out: out}
	root := &cobra.Command{
		Use:   "mailctl",
		Short: "Manage a Yubin mail server: domains, users, aliases",
		Long: `mailctl manages a Yubin mail server's domains, users and aliases.

It works on the server's data directory directly, whether maild is running
or not; a running maild sees every change at once.`,
		SilenceUsage:  true,
		SilenceErrors: false,
		Version:       Version,
	}
	root.SetVersionTemplate("mailctl {{.Version}}\n")
	root.SetOut(out)
	root.SetErr(errOut)
	root.PersistentFlags().StringVar(&g.configPath, "config", "", "maild config file (default "+DefaultConfigPath+")")
	root.PersistentFlags().StringVar(&g.dataDir, "data", "", "data directory (overrides the config's data_dir; ./var for a dev server)")
	root.AddCommand(domainCommand(g), withProfile(g, userCommand(g)), aliasCommand(g), dkimCommand(g), queueCommand(g), routeCommand(g), sendmailCommand(g), dnsCommand(g), statusCommand(g), configCommand(g))
	root.AddCommand(importCommand(g), exportCommand(g), backupCommand(g), restoreCommand(g), verifyCommand(g))
	root.AddCommand(ruleCommand(g), vacationCommand(g))
	return root
}

// loadConfig finds the configuration the way maild does.
func (g *globals) loadConfig() (config.Config, error) {
	path := g.configPath
	if path == "" && g.dataDir == "" {
		if _, err := os.Stat(DefaultConfigPath); err != nil {
			return config.Config{}, fmt.Errorf("no --config or --data given and %s not found (for a dev server use --data ./var)", DefaultConfigPath)
		}
		path = DefaultConfigPath
	}
	cfg := config.Default()
	if path != "" {
		var err error
		if cfg, err = config.Load(path, cfg); err != nil {
			return config.Config{}, err
		}
	}
	if g.dataDir != "" {
		cfg.DataDir = g.dataDir
	}
	return cfg, nil
}

// openStore opens the directory the config names. The data directory must
// exist already, so a typo in --data does not create a new server.
func (g *globals) openStore() (*storage.Store, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.DataDir); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("data directory %s does not exist (has maild been started once?)", cfg.DataDir)
		}
		return nil, err
	}
	return storage.Open(cfg.DataDir, storage.Options{Postmaster: cfg.Delivery.Postmaster})
}

// withStore runs f with an open store and closes it.
func (g *globals) withStore(f func(*storage.Store) error) error {
	st, err := g.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	return f(st)
}

func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
