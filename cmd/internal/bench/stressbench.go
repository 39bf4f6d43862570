package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"yubin/cmd/internal/testpeers"
)

// stressFlags are the -stress-* options.
type stressFlags struct {
	clients  int
	duration time.Duration
	sizes    string
	seed     uint64
	addr     string // any server; empty = the maild bench starts
	user     string
	password string
	mailbox  string
	only     bool
	qresync  bool
	rounds   int
}

// stressExternal runs the load against a server given by address and
// prints its table.
func stressExternal(sf stressFlags) error {
	logf("IMAP stress: %d clients, %v, against %s as %s", sf.clients, sf.duration, sf.addr, sf.user)
	res := runStress(stressOptions{Addr: sf.addr, User: sf.user, Password: sf.password, Mailbox: sf.mailbox,
		Clients: sf.clients, Duration: sf.duration, Seed: sf.seed, QResync: sf.qresync})
	printStress(os.Stdout, fmt.Sprintf("IMAP stress against %s, %d clients, %v, seed %d", sf.addr, sf.clients, sf.duration, sf.seed),
		[]string{sf.addr}, []*stressResult{res})
	if len(res.fatal) > 0 && res.total() == 0 {
		return fmt.Errorf("no client ran: %s", res.fatal[0])
	}
	return nil
}

// stressOnly builds and starts maild and runs only the stress load
// (-stress-only), with -compare against the private Dovecot too.
func stressOnly(sf stressFlags, keep, compare bool) error {
	tmp, err := os.MkdirTemp("", "yubin-bench-")
	if err != nil {
		return err
	}
	if keep {
		logf("data in %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	binDir := filepath.Join(tmp, "bin")
	if err := buildBinaries(binDir); err != nil {
		return err
	}
	dataDir := filepath.Join(tmp, "data")
	os.MkdirAll(dataDir, 0o750)
	m, err := startMaild(binDir, dataDir, `imap.max_connections_per_ip = 100000`)
	if err != nil {
		return err
	}
	defer m.stop()
	if err := m.mailctl("", "domain", "add", "acme.test"); err != nil {
		return err
	}
	var rows []row
	add := func(what, value, note string) {
		rows = append(rows, row{what, value, note})
	}
	if err := stressSizes(m, sf, compare, add); err != nil {
		return err
	}
	printTable(os.Stdout, rows, "", false)
	return nil
}

// stressSizes runs the stress load on a fresh mailbox of each size in
// sf.sizes, against maild and (compare) against a private Dovecot on a
// copy of the same files, prints the side-by-side table for each and
// adds one summary row per server to the main table.
func stressSizes(m *maild, sf stressFlags, compare bool, add func(what, value, note string)) error {
	return eachMailbox(m, "-stress-sizes", sf.sizes, "stress", compare, func(b benchMailbox) error {
		k, box, dovecotDir, dovecotSkip := b.n, b.user, b.dovecotDir, b.dovecotSkip
		var err error
		opts := stressOptions{User: box, Password: password, Clients: sf.clients, Duration: sf.duration, QResync: sf.qresync}
		label := fmt.Sprintf("IMAP stress %dk, %d clients, %d x %v", k/1000, sf.clients, sf.rounds, sf.duration)
		var d *testpeers.Dovecot
		if dovecotDir != "" {
			d, err = testpeers.StartDovecot(testpeers.DovecotOptions{Maildir: dovecotDir, IMAP: true, Password: password})
			if err != nil {
				return err
			}
		}
		// Rounds alternate between the servers, so that the machine's
		// other load falls on both alike; round i uses seed+i on both.
		var yub, dov *stressResult
		for i := range sf.rounds {
			opts.Seed = sf.seed + uint64(i)
			logf("%s: round %d, Yubin", label, i+1)
			opts.Addr = m.addr("imap")
			yub = mergeStress(yub, runStress(opts))
			if d != nil {
				logf("%s: round %d, Dovecot", label, i+1)
				opts.Addr = d.Addr()
				dov = mergeStress(dov, runStress(opts))
			}
		}
		if d != nil {
			d.Stop()
		}
		names, results := []string{"Yubin"}, []*stressResult{yub}
		add(label, fmt.Sprintf("%.0f ops/s", yub.rate()), stressNote(yub))
		switch {
		case dov != nil:
			names, results = append(names, "Dovecot"), append(results, dov)
			note := stressNote(dov)
			if dov.rate() > 0 {
				note += fmt.Sprintf("; Yubin/Dovecot %.2fx", yub.rate()/dov.rate())
			}
			add(label+" (Dovecot)", fmt.Sprintf("%.0f ops/s", dov.rate()), note)
		case compare:
			add(label+" (Dovecot)", "-", "skipped: "+dovecotSkip)
		}
		printStress(os.Stdout, fmt.Sprintf("%s, %d-message INBOX, seed %d.. (ops/s and latency per operation; protocol errors by kind)", label, k, sf.seed), names, results)
		return nil
	})
}

func stressNote(r *stressResult) string {
	var all []time.Duration
	for _, o := range r.ops {
		all = append(all, o.lat...)
	}
	note := fmt.Sprintf("p50/p90/p99 %s ms; %d protocol errors", pcts(all), r.errCount())
	if len(r.fatal) > 0 {
		note += fmt.Sprintf("; %d clients failed: %s", len(r.fatal), r.fatal[0])
	}
	return note
}

// mergeStress adds b's counts and times to a (nil a: b itself).
func mergeStress(a, b *stressResult) *stressResult {
	if a == nil {
		return b
	}
	a.elapsed += b.elapsed
	for k, o := range b.ops {
		if a.ops[k] == nil {
			a.ops[k] = &opStat{}
		}
		a.ops[k].n += o.n
		a.ops[k].lat = append(a.ops[k].lat, o.lat...)
	}
	for k, e := range b.errs {
		if a.errs[k] == nil {
			a.errs[k] = &errStat{}
		}
		x := a.errs[k]
		x.n += e.n
		for i, ex := range e.examples {
			if len(x.examples) < 4 && !slices.Contains(x.during, e.during[i]) {
				x.examples = append(x.examples, ex)
				x.during = append(x.during, e.during[i])
			}
		}
	}
	for k, n := range b.allowed {
		a.allowed[k] += n
	}
	a.redundant += b.redundant
	for k, n := range b.seen {
		a.seen[k] += n
	}
	a.fatal = append(a.fatal, b.fatal...)
	return a
}
