package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"yubin/admin/config"
)

func configCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check maild's configuration file"}
	cmd.AddCommand(configCheckCommand(g))
	return cmd
}

func configCheckCommand(g *globals) *cobra.Command {
	var dev bool
	cmd := &cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a config file without starting maild",
		Long: `check loads FILE (default: --config, else ` + DefaultConfigPath + `) the way
maild does, strictly: an unknown key, a wrong type or an unusable value is
reported with the file and line. It also loads tls.cert_file and
tls.key_file when set and checks that the certificate matches the key,
covers the hostname and has not expired. With --dev the file is read over
the dev defaults, as "maild --dev --config FILE" does. Nothing is started
or written.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := g.configPath
			if len(args) == 1 {
				path = args[0]
			}
			if path == "" {
				path = DefaultConfigPath
			}
			base := config.Default()
			if dev {
				base = config.Dev(g.dataDir)
			}
			cfg, err := config.Load(path, base)
			if err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if err := checkCertificate(cfg, time.Now()); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			fmt.Fprintf(g.out, "%s: OK (hostname %s, data_dir %s)\n", path, cfg.Hostname, cfg.DataDir)
			return nil
		},
	}
	cmd.Flags().BoolVar(&dev, "dev", false, "read the file over the dev defaults (maild --dev --config FILE)")
	return cmd
}

// checkCertificate loads the configured certificate, if any, and checks
// it against the key, the hostname and the clock.
func checkCertificate(cfg config.Config, now time.Time) error {
	if cfg.TLS.CertFile == "" {
		return nil
	}
	pair, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return fmt.Errorf("tls.cert_file/tls.key_file: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fmt.Errorf("tls.cert_file %s: %w", cfg.TLS.CertFile, err)
	}
	var errs []error
	if err := leaf.VerifyHostname(cfg.Hostname); err != nil {
		errs = append(errs, fmt.Errorf("tls.cert_file %s: does not cover hostname %s: %w", cfg.TLS.CertFile, cfg.Hostname, err))
	}
	if now.After(leaf.NotAfter) {
		errs = append(errs, fmt.Errorf("tls.cert_file %s: expired on %s", cfg.TLS.CertFile, leaf.NotAfter.Format(time.DateOnly)))
	}
	return errors.Join(errs...)
}
