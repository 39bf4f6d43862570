package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"yubin/storage"
)

func ruleCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rule",
		Short: "Manage users' mail filter rules (Sieve scripts)",
		Long: `Each user has at most one Sieve script (RFC 5228, with the fileinto,
imap4flags, envelope, variables and relational extensions) that the server
runs on every message delivered to the user: it can file the message into a
folder, flag it, mark it read, discard it or redirect it elsewhere.

"set" installs a whole script; "add" appends one simple rule to it.
Scripts are checked when saved. Tests see the message header, envelope
and size only (no body test).`,
	}
	cmd.AddCommand(ruleSetCommand(g), ruleShowCommand(g), ruleRemoveCommand(g), ruleAddCommand(g))
	return cmd
}

func ruleSetCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "set USER FILE|-",
		Short: "Install USER's Sieve script from FILE (or stdin with -)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = cmd.InOrStdin()
			if args[1] != "-" {
				f, err := os.Open(args[1])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			b, err := io.ReadAll(io.LimitReader(r, storage.MaxSieveScript+1))
			if err != nil {
				return err
			}
			return g.withStore(func(st *storage.Store) error {
				if err := st.SetSieve(cmd.Context(), args[0], string(b)); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "installed the Sieve script of %s\n", args[0])
				return nil
			})
		},
	}
}

func ruleShowCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "show USER",
		Aliases: []string{"list"},
		Short:   "Print USER's Sieve script",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(st *storage.Store) error {
				s, err := st.Sieve(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				_, err = io.WriteString(g.out, s)
				if err == nil && !strings.HasSuffix(s, "\n") {
					_, err = io.WriteString(g.out, "\n")
				}
				return err
			})
		},
	}
}

func ruleRemoveCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove USER",
		Short: "Remove USER's Sieve script (all rules)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(st *storage.Store) error {
				if err := st.RemoveSieve(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "removed the Sieve script of %s\n", args[0])
				return nil
			})
		},
	}
}

// sieveQuote returns s as a Sieve quoted string.
func sieveQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// ruleSpec is a simple rule of mailctl rule add.
type ruleSpec struct {
	from, to, subject []string
	headers           []string // "Name: value"
	fileinto          string
	flag, seen        bool
	discard, stop     bool
	redirect          string
}

// compile returns the rule as one Sieve command and the extensions it
// needs.
func (r ruleSpec) compile() (string, []string, error) {
	var tests []string
	for _, v := range r.from {
		tests = append(tests, "address :contains \"from\" "+sieveQuote(v))
	}
	for _, v := range r.to {
		tests = append(tests, "address :contains [\"to\", \"cc\"] "+sieveQuote(v))
	}
	for _, v := range r.subject {
		tests = append(tests, "header :contains \"subject\" "+sieveQuote(v))
	}
	for _, h := range r.headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
			return "", nil, fmt.Errorf("--header %q: want \"Name: value\"", h)
		}
		tests = append(tests, "header :contains "+sieveQuote(name)+" "+sieveQuote(strings.TrimSpace(value)))
	}
	if len(tests) == 0 {
		return "", nil, errors.New("give at least one condition: --from, --to, --subject or --header")
	}
	var actions, exts []string
	var flags []string
	if r.flag {
		flags = append(flags, sieveQuote(storage.FlagFlagged))
	}
	if r.seen {
		flags = append(flags, sieveQuote(storage.FlagSeen))
	}
	if len(flags) > 0 {
		exts = append(exts, "imap4flags")
		actions = append(actions, "addflag ["+strings.Join(flags, ", ")+"];")
	}
	if r.fileinto != "" {
		exts = append(exts, "fileinto")
		actions = append(actions, "fileinto "+sieveQuote(r.fileinto)+";")
	}
	if r.redirect != "" {
		if _, err := storage.ParseAddress(r.redirect); err != nil {
			return "", nil, fmt.Errorf("--redirect: %w", err)
		}
		actions = append(actions, "redirect "+sieveQuote(r.redirect)+";")
	}
	if r.discard {
		if r.fileinto != "" || r.redirect != "" || len(flags) > 0 {
			return "", nil, errors.New("--discard cannot be combined with other actions")
		}
		actions = append(actions, "discard;")
	}
	if len(actions) == 0 {
		return "", nil, errors.New("give at least one action: --fileinto, --flag, --seen, --redirect or --discard")
	}
	if r.stop || r.discard {
		actions = append(actions, "stop;")
	}
	test := tests[0]
	if len(tests) > 1 {
		test = "allof (" + strings.Join(tests, ", ") + ")"
	}
	return "if " + test + " { " + strings.Join(actions, " ") + " }\n", exts, nil
}

// appendRule adds rule to script, with a require line in front for the
// extensions the script does not require yet (require must precede
// every other command).
func appendRule(script, rule string, exts []string) (string, error) {
	var missing []string
	if script != "" {
		s, err := storage.ParseSieve(script)
		if err != nil {
			return "", err
		}
		for _, e := range exts {
			if !s.RequiresExtension(e) {
				missing = append(missing, e)
			}
		}
	} else {
		missing = exts
	}
	var b strings.Builder
	if len(missing) > 0 {
		q := make([]string, len(missing))
		for i, e := range missing {
			q[i] = sieveQuote(e)
		}
		b.WriteString("require [" + strings.Join(q, ", ") + "];\n")
	}
	b.WriteString(script)
	if script != "" && !strings.HasSuffix(script, "\n") {
		b.WriteString("\n")
	}
	b.WriteString(rule)
	return b.String(), nil
}

func ruleAddCommand(g *globals) *cobra.Command {
	var r ruleSpec
	cmd := &cobra.Command{
		Use:   "add USER",
		Short: "Append a simple rule to USER's Sieve script",
		Long: `add compiles one condition/action rule to a Sieve line and appends it to
USER's script (creating it). Conditions are substring matches, all of which
must hold; e.g.

  mailctl rule add ann@example.org --from boss@example.org --fileinto Boss --flag

Without --stop, later rules still run on a matching message.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rule, exts, err := r.compile()
			if err != nil {
				return err
			}
			return g.withStore(func(st *storage.Store) error {
				ctx := cmd.Context()
				old, err := st.Sieve(ctx, args[0])
				if err != nil && !errors.Is(err, storage.ErrNotFound) {
					return err
				}
				script, err := appendRule(old, rule, exts)
				if err != nil {
					return err
				}
				if err := st.SetSieve(ctx, args[0], script); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "added to the Sieve script of %s: %s", args[0], rule)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&r.from, "from", nil, "condition: the From address contains this")
	f.StringArrayVar(&r.to, "to", nil, "condition: a To or Cc address contains this")
	f.StringArrayVar(&r.subject, "subject", nil, "condition: the Subject contains this")
	f.StringArrayVar(&r.headers, "header", nil, `condition: "Name: value", header field Name contains value`)
	f.StringVar(&r.fileinto, "fileinto", "", "action: file into this folder (INBOX if it does not exist)")
	f.BoolVar(&r.flag, "flag", false, `action: flag the message (\Flagged)`)
	f.BoolVar(&r.seen, "seen", false, `action: mark the message read (\Seen)`)
	f.BoolVar(&r.discard, "discard", false, "action: throw the message away")
	f.StringVar(&r.redirect, "redirect", "", "action: send the message on to this address")
	f.BoolVar(&r.stop, "stop", false, "stop processing further rules after this one")
	return cmd
}
