// Command bench runs Yubin's benchmark (`make bench`): it builds maild and
// mailctl, starts maild --dev on a temporary data dir with loopback
// ports, a test DNS server and an SMTP sink, drives it with SMTP,
// submission, IMAP and POP3 load, and prints one table.
//
// Inbound SMTP load comes from a Go generator (per-message latency) and,
// when installed, from Postfix's smtp-source (the load Postfix is
// measured with). Outbound mail goes to Postfix's smtp-sink when
// installed, else to a Go sink. Every number is wall-clock on loopback,
// with maild's durability (fsync before 250) on; the machine's other load
// shows in them, so compare runs on the same machine only.
//
// -compare (root, Postfix and Dovecot installed) adds rows for the same
// inbound load against a private Postfix and the same IMAP timings against
// a private Dovecot on a copy of the generated Maildir (compare.go).
// The IMAP stress load (stress.go) follows: -stress-clients clients on
// one shared mailbox of each -stress-sizes size for -stress-time, a mix
// weighted like a real client, every response checked against each
// client's model of the mailbox; ops/s, latency and protocol errors by
// kind, side by side with Dovecot under -compare. -stress-only runs just
// that; -stress-addr runs it against any server.
// -soak DURATION runs mixed load instead of the table and watches maild's
// RSS and goroutines for steady growth (soak.go).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"yubin/cmd/internal/testdns"
	"yubin/cmd/internal/testpeers"
)

type row struct{ what, value, note string }

func main() {
	var (
		n        = flag.Int("n", 2000, "messages per SMTP run (inbound and outbound)")
		sessions = flag.Int("sessions", 20, "concurrent SMTP sessions")
		size     = flag.Int("size", 10240, "message size in bytes")
		domains  = flag.Int("domains", 100, "outbound destination domains")
		imapN    = flag.String("imap", "10000", "IMAP mailbox sizes, comma-separated (e.g. 10000,100000)")
		reps     = flag.Int("reps", 5, "repetitions of each IMAP command (median shown)")
		clients  = flag.Int("imap-clients", 20, "concurrent IMAP clients in the mixed load")
		idle     = flag.Int("idle", 10000, "idle IMAP connections for the memory figure (capped by the open-files limits)")
		keep     = flag.Bool("keep", false, "keep the data dir")
		noPF     = flag.Bool("no-postfix-tools", false, "use the Go generator and sink even if smtp-source/smtp-sink are installed")
		compare  = flag.Bool("compare", false, "also run the inbound SMTP load against a private Postfix and the IMAP timings against a private Dovecot (when installed; needs root)")
		soak     = flag.Duration("soak", 0, "instead of the table: mixed SMTP/IMAP/POP3 load for this long, sampling maild's RSS and goroutines (fails on steady growth)")
		soakRate = flag.Int("soak-rate", 20, "SMTP messages per second during -soak")
		sf       stressFlags
	)
	flag.IntVar(&sf.clients, "stress-clients", 10, "IMAP stress: concurrent clients on one shared mailbox")
	flag.DurationVar(&sf.duration, "stress-time", 20*time.Second, "IMAP stress: duration of each run (0 skips the stress load)")
	flag.StringVar(&sf.sizes, "stress-sizes", "1000,10000", "IMAP stress: mailbox sizes, comma-separated, one run each")
	flag.IntVar(&sf.rounds, "stress-rounds", 1, "IMAP stress: rounds per mailbox size, alternating Yubin and Dovecot under -compare (results summed)")
	flag.Uint64Var(&sf.seed, "seed", 1, "IMAP stress: random seed (client i uses seed and i)")
	flag.StringVar(&sf.addr, "stress-addr", "", "IMAP stress: run only against this server (host:port, plaintext) instead of the maild bench starts")
	flag.StringVar(&sf.user, "stress-user", "", "IMAP stress: login for -stress-addr")
	flag.StringVar(&sf.password, "stress-password", "", "IMAP stress: password for -stress-addr")
	flag.StringVar(&sf.mailbox, "stress-mailbox", "INBOX", "IMAP stress: shared mailbox for -stress-addr")
	flag.BoolVar(&sf.only, "stress-only", false, "run only the IMAP stress load (with -compare: against maild and the private Dovecot)")
	flag.BoolVar(&sf.qresync, "stress-qresync", false, "IMAP stress: ENABLE QRESYNC where offered, so expunges come as VANISHED (RFC 7162)")
	flag.Parse()
	sf.rounds = max(sf.rounds, 1)
	if sf.addr != "" || sf.only {
		var err error
		if sf.addr != "" {
			err = stressExternal(sf)
		} else {
			err = stressOnly(sf, *keep, *compare)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *soak > 0 {
		if err := runSoak(*soak, *soakRate, *keep); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*n, *sessions, *size, *domains, *imapN, *reps, *clients, *idle, *keep, *noPF, *compare, sf); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run(n, sessions, size, domains int, imapSizes string, reps, clients, idle int, keep, noPF, compare bool, sf stressFlags) error {
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
	smtpSource, smtpSink := "", ""
	if !noPF {
		smtpSource, _ = testpeers.LookPath("smtp-source")
		smtpSink, _ = testpeers.LookPath("smtp-sink")
	}

	sk, err := startSink(smtpSink)
	if err != nil {
		return err
	}
	defer sk.close()
	names := make([]string, domains)
	var zone []string
	for i := range names {
		names[i] = fmt.Sprintf("d%03d.test", i)
		zone = append(zone, names[i]+". MX 10 mx."+names[i]+".", "mx."+names[i]+". A 127.0.0.1")
	}
	dns, err := testdns.Start(zone...)
	if err != nil {
		return err
	}
	defer dns.Close()

	dataDir := filepath.Join(tmp, "data")
	os.MkdirAll(dataDir, 0o750)
	m, err := startMaild(binDir, dataDir,
		`dns.resolver = "`+dns.Addr+`"`,
		`delivery.remote_port = `+strconv.Itoa(sk.port),
		`smtp.max_connections_per_ip = 1000`,
		`imap.max_connections_per_ip = 100000`,
		`submission.max_messages_per_hour = 0`,
	)
	if err != nil {
		return err
	}
	defer m.stop()
	if err := m.mailctl("", "domain", "add", "acme.test"); err != nil {
		return err
	}
	users := []string{"big@acme.test"}
	for i := range 10 {
		users = append(users, fmt.Sprintf("u%d@acme.test", i))
	}
	for _, u := range users {
		if err := m.addUser(u); err != nil {
			return err
		}
	}
	var rows []row
	add := func(what, value, note string) {
		rows = append(rows, row{what, value, note})
		logf("%s: %s %s", what, value, note)
	}
	rssFresh, _ := m.rss()
	yubinRate := map[string]float64{} // for -compare

	// Inbound: Go generator, 20 sessions, 10 KiB, 10 local users.
	logf("inbound SMTP, Go generator: %d x %d B over %d sessions", n, size, sessions)
	if _, err := runLoad(loadOptions{addr: m.addr("smtp"), sessions: sessions, n: 100, size: size, from: "sender@client.test",
		rcpt: func(i int) string { return fmt.Sprintf("u%d@acme.test", i%10) }}); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if _, err := m.waitDelivered(100, 2*time.Minute); err != nil {
		return err
	}
	base := m.deliveredCount()
	r, err := runLoad(loadOptions{addr: m.addr("smtp"), sessions: sessions, n: n, size: size, from: "sender@client.test",
		rcpt: func(i int) string { return fmt.Sprintf("u%d@acme.test", i%10) }})
	if err != nil {
		return fmt.Errorf("inbound: %w", err)
	}
	start := time.Now().Add(-r.elapsed)
	done, err := m.waitDelivered(base+r.n, 5*time.Minute)
	if err != nil {
		return err
	}
	add("inbound SMTP accepted (Go, 20 sessions, 10 KiB)", fmt.Sprintf("%.0f msg/s", r.rate()),
		fmt.Sprintf("p50 %s, p99 %s (MAIL to 250 after DATA); %d msgs", ms(r.p50), ms(r.p99), r.n))
	add("inbound SMTP into Maildir (Go)", fmt.Sprintf("%.0f msg/s", float64(r.n)/done.Sub(start).Seconds()), "first MAIL to last \"delivered\"")
	yubinRate["go accepted"], yubinRate["go maildir"] = r.rate(), float64(r.n)/done.Sub(start).Seconds()

	if smtpSource != "" {
		logf("inbound SMTP, smtp-source: %d x %d B over %d sessions", n, size, sessions)
		base := m.deliveredCount()
		el, err := runSMTPSource(smtpSource, m.addr("smtp"), sessions, n, size, "sender@client.test", "u0@acme.test")
		if err != nil {
			return err
		}
		start := time.Now().Add(-el)
		done, err := m.waitDelivered(base+n, 5*time.Minute)
		if err != nil {
			return err
		}
		add("inbound SMTP accepted (smtp-source -d -s 20 -l 10240)", fmt.Sprintf("%.0f msg/s", float64(n)/el.Seconds()), "Postfix's load generator; one recipient (u0)")
		add("inbound SMTP into Maildir (smtp-source)", fmt.Sprintf("%.0f msg/s", float64(n)/done.Sub(start).Seconds()), "one mailbox: its index serialises delivery")
		yubinRate["source accepted"], yubinRate["source maildir"] = float64(n)/el.Seconds(), float64(n)/done.Sub(start).Seconds()
	} else {
		add("inbound SMTP (smtp-source)", "-", "smtp-source not installed")
	}
	if compare {
		if err := comparePostfix(add, yubinRate, smtpSource, n, sessions, size); err != nil {
			return err
		}
	}

	// Outbound: submission with AUTH, to 100 domains, to the sink.
	logf("outbound: %d messages to %d domains via %s", n, domains, sk.kind)
	base = m.deliveredCount()
	r, err = runLoad(loadOptions{addr: m.addr("submission"), sessions: sessions, n: n, size: size, from: "u1@acme.test", auth: true,
		rcpt: func(i int) string { return fmt.Sprintf("user%d@%s", i, names[i%domains]) }})
	if err != nil {
		return fmt.Errorf("outbound submission: %w", err)
	}
	start = time.Now().Add(-r.elapsed)
	done, err = m.waitDelivered(base+r.n, 5*time.Minute)
	if err != nil {
		return err
	}
	add("submission accepted (STARTTLS+AUTH, 20 sessions)", fmt.Sprintf("%.0f msg/s", r.rate()), fmt.Sprintf("p50 %s, p99 %s", ms(r.p50), ms(r.p99)))
	add(fmt.Sprintf("outbound delivered to %s, %d domains", sk.kind, domains), fmt.Sprintf("%.0f msg/s", float64(r.n)/done.Sub(start).Seconds()), "first submission to last remote \"delivered\"")

	// IMAP and POP3 on generated mailboxes.
	err = eachMailbox(m, "-imap", imapSizes, "big", compare, func(b benchMailbox) error {
		k, box, dovecotDir, dovecotSkip := b.n, b.user, b.dovecotDir, b.dovecotSkip
		ts, err := imapTimings(m.addr("imap"), box, k, reps)
		if err != nil {
			return err
		}
		yubinIMAP := map[string]time.Duration{}
		for _, t := range ts {
			yubinIMAP[t.name] = t.median
			note := fmt.Sprintf("median of %d", len(t.runs))
			if len(t.runs) == 1 {
				note = "once"
			}
			add(fmt.Sprintf("IMAP %dk: %s", k/1000, t.name), ms(t.median), note)
		}
		logf("IMAP mixed load: %d clients", clients)
		rate, err := imapMixed(m.addr("imap"), box, clients, 5*time.Second)
		if err != nil {
			return err
		}
		add(fmt.Sprintf("IMAP %dk: mixed load, %d clients, 5 s", k/1000, clients), fmt.Sprintf("%.0f cmd/s", rate), "SELECT, FETCH 20 ENVELOPE, SEARCH UNSEEN, NOOP")
		switch {
		case dovecotDir != "":
			if err := compareDovecot(add, dovecotDir, box, k, reps, clients, yubinIMAP, rate); err != nil {
				return err
			}
		case compare:
			add(fmt.Sprintf("IMAP %dk (Dovecot)", k/1000), "-", "skipped: "+dovecotSkip)
		}
		logf("POP3 download")
		msgs, bytes, el, err := pop3Download(m.addr("pop3"), box)
		if err != nil {
			return err
		}
		add(fmt.Sprintf("POP3 %dk: RETR every message", k/1000), fmt.Sprintf("%.0f msg/s", float64(msgs)/el.Seconds()),
			fmt.Sprintf("%.1f MB/s, one session, %d msgs", float64(bytes)/1e6/el.Seconds(), msgs))
		return nil
	})
	if err != nil {
		return err
	}

	// Memory.
	runtime.GC()
	time.Sleep(2 * time.Second)
	rssIdle, _ := m.rss()
	add("maild RSS, idle after start", mb(rssFresh), "")
	add("maild RSS, idle after the load above", mb(rssIdle), "")
	want := idle
	limit := min(fdLimit(), m.fdLimit()) - 500
	capNote := ""
	if want > limit {
		want = max(limit, 0)
		capNote = fmt.Sprintf("capped from %d by the open-files limit", idle)
	}
	logf("opening %d idle IMAP connections", want)
	conns, err := idleConns(m.addr("imap"), want)
	if err != nil {
		capNote = strings.TrimSpace(capNote + fmt.Sprintf(" stopped at %d: %v", len(conns), err))
	}
	time.Sleep(2 * time.Second)
	rssConns, _ := m.rss()
	per := ""
	if len(conns) > 0 {
		per = fmt.Sprintf("%.1f KiB per connection; greeted, not logged in", float64(rssConns-rssIdle)/1024/float64(len(conns)))
	}
	add(fmt.Sprintf("maild RSS with %d idle IMAP connections", len(conns)), mb(rssConns), strings.TrimSpace(per+" "+capNote))
	for _, c := range conns {
		c.Close()
	}

	if sf.duration > 0 {
		if err := stressSizes(m, sf, compare, add); err != nil {
			return err
		}
	}

	printTable(os.Stdout, rows, sk.kind, smtpSource != "")
	return nil
}

// buildBinaries builds maild and mailctl into binDir.
func buildBinaries(binDir string) error {
	logf("building maild and mailctl")
	for _, name := range []string{"maild", "mailctl"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, name), "yubin/cmd/"+name)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", name, err)
		}
	}
	return nil
}

func printTable(w io.Writer, rows []row, sinkKind string, pf bool) {
	fmt.Fprintf(w, "\nYubin benchmark  %s  %s/%s, %d CPUs  (loopback, durability on)\n\n", time.Now().Format("2006-01-02 15:04"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "what\tresult\tnote")
	fmt.Fprintln(tw, "----\t------\t----")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.what, r.value, r.note)
	}
	tw.Flush()
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func mb(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func fdLimit() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 1024
	}
	return int(l.Cur)
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "nobody"
}
