// Command imapconform is Yubin's IMAP conformance runner (`make
// conformance`, issue 16). Its checks are written from the RFC text (each
// names its RFC and section), one file per command family or extension,
// and drive a server over raw sockets so that exact responses are seen.
// Every check works on its own fresh mailbox filled by APPEND.
//
// By default it builds and starts the real maild (as cmd/internal/e2e
// and cmd/internal/bench do) and a private Dovecot (cmd/internal/testpeers,
// root only; with the quota, acl and zlib plugins and special-use
// mailboxes) as the reference, runs every group against both and prints a
// table of groups × servers and, for each failure, the check, its RFC
// reference, the command sent and the response received.
//
// A check fails, passes, or is "not advertised": an extension group (or
// check) runs only when the server lists its capability after LOGIN, and
// a server that does not is not failed for it. A check that fails on
// Dovecot is wrong and gets fixed, unless Dovecot deviates from the RFC:
// then the check carries an exemption naming the RFC section, and a
// failure on Dovecot (only there) is reported as "exempt".
//
// -addr host:port -user U -pass P points it at any other IMAP server
// (plaintext LOGIN); -no-yubin runs only against Dovecot. -big adds the
// slow groups (a 10,000-message mailbox). -json FILE writes every result
// as JSON; the last lines of the output are one "summary" line per
// server, key=value, for scripts and tests. It exits 1 when any check
// fails on any server. It is not part of `make test`;
// TestDovecotReference runs the suite against Dovecot alone.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

func allGroups() []group {
	return []group{
		capabilityGroup(), loginGroup(), selectGroup(), listGroup(), statusGroup(),
		appendGroup(), fetchGroup(), storeGroup(), searchGroup(), copyMoveGroup(),
		idleGroup(), enableGroup(), errorsGroup(), recentGroup(),
		condstoreGroup(), qresyncGroup(), quotaGroup(), idGroup(), sortGroup(),
		threadGroup(), esearchGroup(), compressGroup(), aclGroup(), specialUseGroup(),
		uidplusGroup(), moveGroup(), unselectGroup(), literalGroup(), namespaceGroup(),
		steadyStateGroup(),
	}
}

// selectGroups returns the groups whose name contains only; big groups
// only with big or when only names them exactly.
func selectGroups(only string, big bool) []group {
	var out []group
	for _, g := range allGroups() {
		if !strings.Contains(g.name, only) {
			continue
		}
		if g.big && !big && only != g.name {
			continue
		}
		out = append(out, g)
	}
	return out
}

func main() {
	var (
		addr     = flag.String("addr", "", "test only this IMAP server (host:port, plaintext)")
		user     = flag.String("user", "", "user name for -addr")
		pass     = flag.String("pass", "", "password for -addr")
		name     = flag.String("name", "server", "the -addr server's name in the table")
		noYubin  = flag.Bool("no-yubin", false, "do not start maild (run only against Dovecot)")
		noDove   = flag.Bool("no-dovecot", false, "do not start the reference Dovecot")
		only     = flag.String("group", "", "run only groups whose name contains this")
		big      = flag.Bool("big", false, "also run the slow groups (10,000-message mailbox)")
		jsonFile = flag.String("json", "", `write the results as JSON to this file ("-": standard output, instead of the table)`)
		verbose  = flag.Bool("v", false, "also list passing, exempt and not advertised checks")
		parallel = flag.Int("parallel", 1, "groups run at once on each server (servers always run at once); Dovecot's Maildir CREATE misreports ALREADYEXISTS under concurrent CREATEs, so keep 1 with Dovecot")
	)
	flag.Parse()
	var targets []target
	var stops []func()
	stopAll := func() {
		for _, s := range stops {
			s()
		}
		stops = nil
	}
	defer stopAll()
	if *addr != "" {
		targets = append(targets, target{name: *name, addr: *addr, user: *user, pass: *pass})
	} else {
		// Both start at once: building maild is the slow part.
		type started struct {
			t    target
			stop func()
			err  error
		}
		var starts []func() (target, func(), error)
		var names []string
		if !*noYubin {
			starts, names = append(starts, startYubin), append(names, "yubin")
		}
		if !*noDove {
			starts, names = append(starts, startDovecot), append(names, "dovecot")
		}
		out := make([]started, len(starts))
		var wg sync.WaitGroup
		begin := time.Now()
		for i, start := range starts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t, stop, err := start()
				out[i] = started{t, stop, err}
			}()
		}
		wg.Wait()
		logf("servers started in %v", time.Since(begin).Round(time.Millisecond))
		failed := false
		for i, s := range out {
			if s.err != nil {
				fmt.Fprintf(os.Stderr, "imapconform: %s: %v\n", names[i], s.err)
				failed = true
				continue
			}
			stops = append(stops, s.stop)
			targets = append(targets, s.t)
		}
		if failed {
			stopAll()
			os.Exit(2)
		}
	}
	groups := selectGroups(*only, *big)
	begin := time.Now()
	res := make([][]result, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = runTarget(&targets[i], groups, *parallel)
		}()
	}
	wg.Wait()
	logf("checks done in %v", time.Since(begin).Round(time.Millisecond))
	stopAll()
	results := map[string][]result{}
	for i, t := range targets {
		if errs[i] != nil {
			fmt.Fprintf(os.Stderr, "imapconform: %s: %v\n", t.name, errs[i])
			os.Exit(2)
		}
		results[t.name] = res[i]
	}
	out := io.Writer(os.Stdout)
	if *jsonFile != "" {
		var w io.Writer = os.Stdout
		if *jsonFile != "-" {
			f, err := os.Create(*jsonFile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "imapconform:", err)
				os.Exit(2)
			}
			defer f.Close()
			w = f
		} else {
			out = os.Stderr
		}
		if err := writeJSON(w, targets, results); err != nil {
			fmt.Fprintln(os.Stderr, "imapconform:", err)
			os.Exit(2)
		}
	}
	failed := report(out, targets, groups, results, *verbose)
	if failed {
		os.Exit(1)
	}
}

// runTarget learns t's capabilities after LOGIN and runs the groups,
// parallel at a time (each check has mailboxes of its own); big groups
// run alone at the end. Results keep the groups' order.
func runTarget(t *target, groups []group, parallel int) ([]result, error) {
	var log []*resp
	c, err := dial(t.addr, &log)
	if err != nil {
		return nil, err
	}
	defer c.close()
	if r := c.do("LOGIN " + quote(t.user) + " " + quote(t.pass)); r.status != "OK" {
		return nil, fmt.Errorf("LOGIN: %s", r.tagged)
	}
	t.caps = caps(c)
	var names []string
	for k := range t.caps {
		names = append(names, k)
	}
	sort.Strings(names)
	logf("%s advertises %s", t.name, strings.Join(names, " "))
	var seq atomic.Int64
	res := make([][]result, len(groups))
	sem := make(chan struct{}, max(1, parallel))
	var wg sync.WaitGroup
	for i, g := range groups {
		if g.big {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start := time.Now()
			res[i] = runGroup(*t, g, &seq)
			logf("%s: %s (%v)", t.name, g.name, time.Since(start).Round(time.Millisecond))
		}()
	}
	wg.Wait()
	for i, g := range groups {
		if g.big {
			logf("%s: %s", t.name, g.name)
			res[i] = runGroup(*t, g, &seq)
		}
	}
	var out []result
	for _, r := range res {
		out = append(out, r...)
	}
	return out, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "imapconform: "+format+"\n", args...)
}

// tally counts one group's (or a server's) results by state.
type tally map[state]int

func tallyOf(results []result, group string) tally {
	t := tally{}
	for _, r := range results {
		if group == "" || r.group == group {
			t[r.state]++
		}
	}
	return t
}

// cell is a group's table cell: "ok 5/5", "FAIL 3/5", "not advertised",
// with exempt and not advertised checks noted.
func (t tally) cell() string {
	run := t[statePass] + t[stateFail] + t[stateExempt]
	if run == 0 && t[stateNA] > 0 {
		return "not advertised"
	}
	mark := "ok"
	if t[stateFail] > 0 {
		mark = "FAIL"
	}
	s := fmt.Sprintf("%s %d/%d", mark, t[statePass], run)
	if t[stateExempt] > 0 {
		s += fmt.Sprintf(" (%d exempt)", t[stateExempt])
	}
	if t[stateNA] > 0 {
		s += fmt.Sprintf(" (%d n/a)", t[stateNA])
	}
	return s
}

// groupState is a group's verdict on one server.
func (t tally) groupState() state {
	switch {
	case t[stateFail] > 0:
		return stateFail
	case t[statePass]+t[stateExempt] == 0 && t[stateNA] > 0:
		return stateNA
	}
	return statePass
}

// report prints the table, the failures and the summary lines; it
// returns whether any check failed.
func report(w io.Writer, targets []target, groups []group, results map[string][]result, verbose bool) bool {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "group\tchecks"
	for _, t := range targets {
		head += "\t" + t.name
	}
	fmt.Fprintln(tw, head)
	anyFail := false
	byState := map[string]tally{}
	for _, t := range targets {
		byState[t.name] = tally{}
	}
	for _, g := range groups {
		row := fmt.Sprintf("%s\t%d", g.name, len(g.checks))
		for _, t := range targets {
			tl := tallyOf(results[t.name], g.name)
			st := tl.groupState()
			byState[t.name][st]++
			if st == stateFail {
				anyFail = true
			}
			row += "\t" + tl.cell()
		}
		fmt.Fprintln(tw, row)
	}
	row := "groups passed\t"
	for _, t := range targets {
		s := byState[t.name]
		row += fmt.Sprintf("\t%d/%d", s[statePass], s[statePass]+s[stateFail])
		if s[stateNA] > 0 {
			row += fmt.Sprintf(" (%d not advertised)", s[stateNA])
		}
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
			if r.state != stateFail && !verbose {
				continue
			}
			if first {
				fmt.Fprintf(w, "\n== %s\n", n)
				first = false
			}
			switch r.state {
			case statePass:
				fmt.Fprintf(w, "pass [%s] %s (%s)\n", r.group, r.check, r.rfc)
				continue
			case stateNA:
				fmt.Fprintf(w, "n/a  [%s] %s: %s\n", r.group, r.check, r.note)
				continue
			case stateExempt:
				fmt.Fprintf(w, "\nEXEMPT [%s] %s (%s)\n  %v\n  exempt: %s\n", r.group, r.check, r.rfc, r.err, r.note)
			default:
				fmt.Fprintf(w, "\nFAIL [%s] %s (%s)\n  %v\n", r.group, r.check, r.rfc, r.err)
			}
			for _, x := range r.exch {
				for _, l := range strings.Split(strings.TrimSuffix(x.String(), "\n"), "\n") {
					fmt.Fprintf(w, "  %s\n", l)
				}
			}
		}
	}
	fmt.Fprintln(w)
	for _, t := range targets {
		fmt.Fprintln(w, summaryLine(t.name, byState[t.name], tallyOf(results[t.name], "")))
	}
	return anyFail
}

// summaryLine is one server's totals as key=value pairs, e.g.
// "summary server=dovecot groups_pass=20 groups_fail=0 groups_na=1
// checks_pass=190 checks_fail=0 checks_exempt=1 checks_na=3".
func summaryLine(name string, groups, checks tally) string {
	return fmt.Sprintf("summary server=%s groups_pass=%d groups_fail=%d groups_na=%d checks_pass=%d checks_fail=%d checks_exempt=%d checks_na=%d",
		name, groups[statePass], groups[stateFail], groups[stateNA],
		checks[statePass], checks[stateFail], checks[stateExempt], checks[stateNA])
}

// jsonResult is one check's result in -json output.
type jsonResult struct {
	Server string `json:"server"`
	Group  string `json:"group"`
	Check  string `json:"check"`
	RFC    string `json:"rfc"`
	State  string `json:"state"` // pass, fail, exempt, not advertised
	Error  string `json:"error,omitempty"`
	Note   string `json:"note,omitempty"`
}

func writeJSON(w io.Writer, targets []target, results map[string][]result) error {
	out := []jsonResult{}
	for _, t := range targets {
		for _, r := range results[t.name] {
			j := jsonResult{Server: t.name, Group: r.group, Check: r.check, RFC: r.rfc, State: string(r.state), Note: r.note}
			if r.err != nil {
				j.Error = r.err.Error()
			}
			out = append(out, j)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
