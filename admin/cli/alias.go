package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"yubin/storage"
)

func aliasCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alias",
		Short: "Manage aliases: forwarding addresses, lists and catch-alls",
		Long: `An alias maps a source address in a local domain to one or more targets,
local or remote. A source of the form @domain is a catch-all: it receives
mail for every address of the domain that is neither a user nor an alias.`,
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:     "add SOURCE TARGET...",
			Short:   "Add an alias, or add targets to an existing one",
			Example: "  mailctl alias add sales@example.com alice@example.com bob@example.com\n  mailctl alias add @example.com alice@example.com   # catch-all",
			Args:    cobra.MinimumNArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return g.withStore(func(st *storage.Store) error {
					if err := st.AddAlias(cmd.Context(), args[0], args[1:]); err != nil {
						return err
					}
					fmt.Fprintf(g.out, "alias %s -> %s\n", args[0], strings.Join(args[1:], ", "))
					return nil
				})
			},
		},
		&cobra.Command{
			Use:   "remove SOURCE [TARGET...]",
			Short: "Remove an alias, or only the given targets of it",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return g.withStore(func(st *storage.Store) error {
					if err := st.RemoveAlias(cmd.Context(), args[0], args[1:]...); err != nil {
						return err
					}
					fmt.Fprintf(g.out, "removed alias %s\n", strings.Join(args, " "))
					return nil
				})
			},
		},
		aliasListCommand(g),
	)
	return cmd
}

func aliasListCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [DOMAIN]",
		Short: "List aliases",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			domain := ""
			if len(args) == 1 {
				domain = args[0]
			}
			return g.withStore(func(st *storage.Store) error {
				as, err := st.Aliases(cmd.Context(), domain)
				if err != nil {
					return err
				}
				if asJSON {
					type row struct {
						Source  string   `json:"source"`
						Targets []string `json:"targets"`
					}
					rows := make([]row, 0, len(as))
					for _, a := range as {
						rows = append(rows, row{a.Source, a.Targets})
					}
					return g.printJSON(rows)
				}
				tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SOURCE\tTARGETS")
				for _, a := range as {
					fmt.Fprintf(tw, "%s\t%s\n", a.Source, strings.Join(a.Targets, ", "))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
