package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"yubin/storage"
)

func domainCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "domain", Short: "Manage the domains this server receives mail for"}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "add DOMAIN",
			Short: "Add a local domain",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return g.withStore(func(st *storage.Store) error {
					d, err := st.AddDomain(cmd.Context(), args[0])
					if err != nil {
						return err
					}
					fmt.Fprintf(g.out, "added domain %s\n", d.Name)
					return nil
				})
			},
		},
		&cobra.Command{
			Use:   "remove DOMAIN",
			Short: "Remove a domain that has no users or aliases left",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return g.withStore(func(st *storage.Store) error {
					if err := st.RemoveDomain(cmd.Context(), args[0]); err != nil {
						return err
					}
					fmt.Fprintf(g.out, "removed domain %s\n", args[0])
					return nil
				})
			},
		},
		domainListCommand(g),
	)
	return cmd
}

func domainListCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List local domains",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(st *storage.Store) error {
				ds, err := st.Domains(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					type row struct {
						Name    string `json:"name"`
						Created string `json:"created"`
					}
					rows := make([]row, 0, len(ds))
					for _, d := range ds {
						rows = append(rows, row{d.Name, d.Created.UTC().Format(timeFormat)})
					}
					return g.printJSON(rows)
				}
				tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "DOMAIN\tCREATED")
				for _, d := range ds {
					fmt.Fprintf(tw, "%s\t%s\n", d.Name, d.Created.UTC().Format(timeFormat))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

const timeFormat = "2006-01-02T15:04:05Z"
