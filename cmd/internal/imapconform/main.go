// Command imapconform is Yubin's IMAP conformance runner (`make
// conformance`, issue 16). Its checks are written from the RFC text (each
// names its RFC and section), one file per command family, and drive a
// server over raw sockets so that exact responses are seen. Every check
// works on its own fresh mailbox filled by APPEND.
//
// By default it builds and starts the real maild (as cmd/internal/e2e
// and cmd/internal/bench do) and a private Dovecot (cmd/internal/testpeers,
// root only) as the reference, runs every group against both and prints a
// table of groups × servers and, for each failure, the check, its RFC
// reference, the command sent and the response received. A check that
// fails on Dovecot is suspect: re-read the RFC.
//
// -addr host:port -user U -pass P points it at any other IMAP server
// (plaintext LOGIN). It exits 1 when any check fails on any server. It is
// not part of `make test`.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"text/tabwriter"
)

func allGroups() []group {
	return []group{
		capabilityGroup(), loginGroup(), selectGroup(), listGroup(), statusGroup(),
		appendGroup(), fetchGroup(), storeGroup(), searchGroup(), copyMoveGroup(),
		idleGroup(), enableGroup(), errorsGroup(), recentGroup(),
	}
}

func main() {
	var (
		addr    = flag.String("addr", "", "test only this IMAP server (host:port, plaintext)")
		user    = flag.String("user", "", "user name for -addr")
		pass    = flag.String("pass", "", "password for -addr")
		name    = flag.String("name", "server", "the -addr server's name in the table")
		noYubin = flag.Bool("no-yubin", false, "do not start maild")
		noDove  = flag.Bool("no-dovecot", false, "do not start the reference Dovecot")
		only    = flag.String("group", "", "run only groups whose name contains this")
		verbose = flag.Bool("v", false, "also list passing checks")
	)
	flag.Parse()
	var targets []target
	var stops []func()
	defer func() {
		for _, s := range stops {
			s()
		}
	}()
	if *addr != "" {
		targets = append(targets, target{name: *name, addr: *addr, user: *user, pass: *pass})
	} else {
		if !*noYubin {
			t, stop, err := startYubin()
			if err != nil {
				fmt.Fprintln(os.Stderr, "imapconform: yubin:", err)
				os.Exit(2)
			}
			stops = append(stops, stop)
			targets = append(targets, t)
		}
		if !*noDove {
			t, stop, err := startDovecot()
			if err != nil {
				fmt.Fprintln(os.Stderr, "imapconform: dovecot:", err)
				os.Exit(2)
			}
			stops = append(stops, stop)
			targets = append(targets, t)
		}
	}
	var groups []group
	for _, g := range allGroups() {
		if strings.Contains(g.name, *only) {
			groups = append(groups, g)
		}
	}
	results := map[string][]result{}
	for _, t := range targets {
		var seq atomic.Int64
		for _, g := range groups {
			logf("%s: %s", t.name, g.name)
			results[t.name] = append(results[t.name], runGroup(t, g, &seq)...)
		}
	}
	failed := report(os.Stdout, targets, groups, results, *verbose)
	for _, s := range stops {
		s()
	}
	stops = nil
	if failed {
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "imapconform: "+format+"\n", args...)
}

// report prints the table and the failures; it returns whether any
// check failed.
func report(w io.Writer, targets []target, groups []group, results map[string][]result, verbose bool) bool {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "group\tchecks"
	for _, t := range targets {
		head += "\t" + t.name
	}
	fmt.Fprintln(tw, head)
	anyFail := false
	groupsFailed := map[string]int{}
	for _, g := range groups {
		row := fmt.Sprintf("%s\t%d", g.name, len(g.checks))
		for _, t := range targets {
			pass, fails := 0, 0
			for _, r := range results[t.name] {
				if r.group != g.name {
					continue
				}
				if r.err == nil {
					pass++
				} else {
					fails++
				}
			}
			mark := "ok"
			if fails > 0 {
				mark = "FAIL"
				groupsFailed[t.name]++
				anyFail = true
			}
			row += fmt.Sprintf("\t%s %d/%d", mark, pass, pass+fails)
		}
		fmt.Fprintln(tw, row)
	}
	row := "groups passed\t"
	for _, t := range targets {
		row += fmt.Sprintf("\t%d/%d", len(groups)-groupsFailed[t.name], len(groups))
	}
	fmt.Fprintln(tw, row)
	tw.Flush()
	names := make([]string, 0, len(targets))
	for _, t := range targets {
		names = append(names, t.name)
	}
	sort.Strings(names)
	for _, n := range names {
		first := true
		for _, r := range results[n] {
			if r.err == nil && !verbose {
				continue
			}
			if first {
				fmt.Fprintf(w, "\n== %s\n", n)
				first = false
			}
			if r.err == nil {
				fmt.Fprintf(w, "pass [%s] %s (%s)\n", r.group, r.check, r.rfc)
				continue
			}
			fmt.Fprintf(w, "\nFAIL [%s] %s (%s)\n  %v\n", r.group, r.check, r.rfc, r.err)
			for _, x := range r.exch {
				for _, l := range strings.Split(strings.TrimSuffix(x.String(), "\n"), "\n") {
					fmt.Fprintf(w, "  %s\n", l)
				}
			}
		}
	}
	return anyFail
}
