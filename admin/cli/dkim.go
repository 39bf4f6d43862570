package cli

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"yubin/admin"
	"yubin/storage"
)

func dkimCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dkim",
		Short: "Manage the DKIM keys that sign mail sent from local domains",
		Long: `Each local domain can have one DKIM key. Outgoing mail from the domain is
signed with it once its public key is published in DNS as the TXT record
that "generate" and "show" print (a zone-file line).`,
	}
	cmd.AddCommand(dkimGenerateCommand(g), dkimShowCommand(g), dkimListCommand(g), dkimRemoveCommand(g))
	return cmd
}

func dkimGenerateCommand(g *globals) *cobra.Command {
	var algorithm, selector string
	var force bool
	cmd := &cobra.Command{
		Use:   "generate DOMAIN",
		Short: "Make a new DKIM key for DOMAIN and print its DNS TXT record",
		Long: `generate makes a DKIM key for DOMAIN, stores it, and prints the DNS TXT
record to publish on stdout, as one zone-file line. A running maild signs
with the new key at once.

A domain has one key: replacing it needs --force. Publish the new record
under its new selector before replacing, and keep the old record for a few
days so mail already signed with the old key still verifies.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			algorithm = strings.ToLower(algorithm)
			if algorithm != storage.DKIMAlgorithmRSA && algorithm != storage.DKIMAlgorithmEd25519 {
				return fmt.Errorf("--algorithm %q: use rsa or ed25519", algorithm)
			}
			if selector == "" {
				selector = admin.DefaultDKIMSelector(time.Now())
			}
			if err := storage.ValidDKIMSelector(selector); err != nil {
				return err
			}
			return g.withStore(func(st *storage.Store) error {
				ctx := cmd.Context()
				domain, err := storage.NormalizeDomain(strings.TrimSpace(args[0]))
				if err != nil {
					return err
				}
				if local, err := st.IsLocalDomain(ctx, domain); err != nil {
					return err
				} else if !local {
					return fmt.Errorf("domain %s is not a local domain (add it with: mailctl domain add %s): %w", domain, domain, storage.ErrNoSuchDomain)
				}
				old, err := st.DKIMKey(ctx, domain)
				switch {
				case err == nil && !force:
					return fmt.Errorf("%s already has a DKIM key (selector %s, %s, created %s); use --force to replace it",
						domain, old.Selector, old.Algorithm, old.Created.Format(timeFormat))
				case err != nil && !errors.Is(err, storage.ErrNotFound):
					return err
				}
				privPEM, err := admin.GenerateDKIMKey(algorithm)
				if err != nil {
					return err
				}
				k := storage.DKIMKey{Domain: domain, Selector: selector, Algorithm: algorithm, PrivateKeyPEM: privPEM, Created: time.Now()}
				if err := st.SetDKIMKey(ctx, k); err != nil {
					return err
				}
				k.Selector = strings.ToLower(k.Selector)
				if err := printDKIMRecord(g, k); err != nil {
					return err
				}
				if old.Selector != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "replaced the key with selector %s; keep its record in DNS for a few days\n", old.Selector)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "publish this TXT record in the DNS zone of %s; mail from %s is signed from now on\n", domain, domain)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&algorithm, "algorithm", "rsa", "key algorithm: rsa (2048 bits, understood everywhere) or ed25519 (RFC 8463)")
	cmd.Flags().StringVar(&selector, "selector", "", `DNS selector (default "yubin" + year and month, e.g. yubin202611)`)
	cmd.Flags().BoolVar(&force, "force", false, "replace the domain's existing key")
	return cmd
}

func printDKIMRecord(g *globals, k storage.DKIMKey) error {
	name, value, err := admin.DKIMRecord(k)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(g.out, admin.DKIMZoneLine(name, value))
	return err
}

func dkimShowCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show DOMAIN",
		Short: "Print the DNS TXT record of DOMAIN's DKIM key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(st *storage.Store) error {
				k, err := st.DKIMKey(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return printDKIMRecord(g, k)
			})
		},
	}
}

func dkimListCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the domains' DKIM keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(st *storage.Store) error {
				keys, err := st.DKIMKeys(cmd.Context())
				if err != nil {
					return err
				}
				infos := make([]admin.DKIMInfo, 0, len(keys))
				for _, k := range keys {
					info, err := admin.NewDKIMInfo(k)
					if err != nil {
						return err
					}
					infos = append(infos, info)
				}
				if asJSON {
					return g.printJSON(infos)
				}
				tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "DOMAIN\tSELECTOR\tALGORITHM\tCREATED\tRECORD")
				for _, i := range infos {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", i.Domain, i.Selector, i.Algorithm, i.Created.UTC().Format(timeFormat), i.RecordName)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (with each record's value)")
	return cmd
}

func dkimRemoveCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove DOMAIN",
		Short: "Remove DOMAIN's DKIM key (its mail is then sent unsigned)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(st *storage.Store) error {
				if err := st.RemoveDKIMKey(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "removed the DKIM key of %s; remove its TXT record from DNS too\n", args[0])
				return nil
			})
		},
	}
}
