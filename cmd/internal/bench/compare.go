package main

// -compare: the same inbound SMTP load against a private Postfix and the
// same IMAP timings against a private Dovecot, started as the e2e tests
// start them (cmd/internal/testpeers): own config directory, loopback
// port, no chroot, Maildirs owned by nobody. Needs root.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"yubin/cmd/internal/testpeers"
)

// waitPostfix polls Postfix's Maildirs until n messages are in (Postfix
// reports delivery only in its log) and returns when that was seen.
func waitPostfix(p *testpeers.Postfix, n int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		if got := p.Delivered(); got >= n {
			return time.Now(), nil
		} else if time.Now().After(deadline) {
			log := p.Log()
			if len(log) > 4000 {
				log = log[len(log)-4000:]
			}
			return time.Time{}, fmt.Errorf("postfix: %d of %d messages in the Maildirs after %v\n%s", got, n, timeout, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// comparePostfix runs the inbound loads of the main table against a
// private Postfix: the Go generator (10 recipients) and smtp-source (one
// recipient). yubin holds the matching Yubin rates (msg/s) by row key.
func comparePostfix(add func(what, value, note string), yubin map[string]float64, smtpSource string, n, sessions, size int) error {
	logf("compare: starting a private Postfix")
	mailboxes := make([]string, 10)
	for i := range mailboxes {
		mailboxes[i] = fmt.Sprintf("u%d", i)
	}
	p, err := testpeers.StartPostfix(testpeers.PostfixOptions{Domain: "acme.test", Mailboxes: mailboxes})
	if errors.Is(err, testpeers.ErrUnavailable) {
		add("inbound SMTP (Postfix)", "-", "skipped: "+err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	defer p.Stop()
	rcpt := func(i int) string { return fmt.Sprintf("u%d@acme.test", i%10) }
	// Warm-up, as for maild: the first messages start its services.
	if _, err := runLoad(loadOptions{addr: p.Addr(), sessions: sessions, n: 100, size: size, from: "sender@client.test", rcpt: rcpt}); err != nil {
		return fmt.Errorf("postfix warm-up: %w", err)
	}
	if _, err := waitPostfix(p, 100, 2*time.Minute); err != nil {
		return err
	}
	base := p.Delivered()
	logf("compare: inbound SMTP to Postfix, Go generator: %d x %d B over %d sessions", n, size, sessions)
	r, err := runLoad(loadOptions{addr: p.Addr(), sessions: sessions, n: n, size: size, from: "sender@client.test", rcpt: rcpt})
	if err != nil {
		return fmt.Errorf("postfix inbound: %w", err)
	}
	start := time.Now().Add(-r.elapsed)
	done, err := waitPostfix(p, base+r.n, 5*time.Minute)
	if err != nil {
		return err
	}
	acc, into := r.rate(), float64(r.n)/done.Sub(start).Seconds()
	add("inbound SMTP accepted (Go, 20 sessions, 10 KiB) (Postfix)", fmt.Sprintf("%.0f msg/s", acc),
		fmt.Sprintf("p50 %s, p99 %s; %s", ms(r.p50), ms(r.p99), rateRatio(yubin["go accepted"], acc)))
	add("inbound SMTP into Maildir (Go) (Postfix)", fmt.Sprintf("%.0f msg/s", into), rateRatio(yubin["go maildir"], into))

	if smtpSource == "" {
		add("inbound SMTP (smtp-source) (Postfix)", "-", "smtp-source not installed")
		return nil
	}
	logf("compare: inbound SMTP to Postfix, smtp-source: %d x %d B over %d sessions", n, size, sessions)
	base = p.Delivered()
	el, err := runSMTPSource(smtpSource, p.Addr(), sessions, n, size, "sender@client.test", "u0@acme.test")
	if err != nil {
		return err
	}
	start = time.Now().Add(-el)
	done, err = waitPostfix(p, base+n, 5*time.Minute)
	if err != nil {
		return err
	}
	acc, into = float64(n)/el.Seconds(), float64(n)/done.Sub(start).Seconds()
	add("inbound SMTP accepted (smtp-source -d -s 20 -l 10240) (Postfix)", fmt.Sprintf("%.0f msg/s", acc), rateRatio(yubin["source accepted"], acc))
	add("inbound SMTP into Maildir (smtp-source) (Postfix)", fmt.Sprintf("%.0f msg/s", into), rateRatio(yubin["source maildir"], into))
	return nil
}

// rateRatio compares rates (higher is better).
func rateRatio(yubin, other float64) string {
	if yubin <= 0 || other <= 0 {
		return ""
	}
	return fmt.Sprintf("Yubin/Postfix %.2fx", yubin/other)
}

// timeRatio compares times (lower is better).
func timeRatio(yubin, other time.Duration, whom string) string {
	if yubin <= 0 || other <= 0 {
		return ""
	}
	return fmt.Sprintf("Yubin time/%s %.2fx", whom, float64(yubin)/float64(other))
}

// copyMaildir copies a Maildir into a new directory owned by nobody and
// returns it and a cleanup.
func copyMaildir(src string) (string, func(), error) {
	dir, err := testpeers.PrivateDir("yubin-bench-maildir-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	dst := filepath.Join(dir, "Maildir")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("copy Maildir: %v\n%s", err, out)
	}
	if out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", testpeers.Nobody, testpeers.Nobody), dst).CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("chown Maildir: %v\n%s", err, out)
	}
	return dst, cleanup, nil
}

// compareDovecot runs the IMAP timings and the mixed load of the main
// table against Dovecot on maildir (a copy, taken before maild indexed
// it); yubin holds Yubin's medians by operation name.
func compareDovecot(add func(what, value, note string), maildir, box string, k, reps, clients int, yubin map[string]time.Duration, yubinMixed float64) error {
	logf("compare: starting a private Dovecot on a copy of the %d-message Maildir", k)
	d, err := testpeers.StartDovecot(testpeers.DovecotOptions{Maildir: maildir, IMAP: true, Password: password})
	if err != nil {
		return err
	}
	defer d.Stop()
	ts, err := imapTimings(d.Addr(), box, k, reps)
	if err != nil {
		return fmt.Errorf("dovecot: %w\n%s", err, d.Log())
	}
	for _, t := range ts {
		note := fmt.Sprintf("median of %d", len(t.runs))
		if len(t.runs) == 1 {
			note = "once"
		}
		if r := timeRatio(yubin[t.name], t.median, "Dovecot"); r != "" {
			note += "; " + r
		}
		add(fmt.Sprintf("IMAP %dk: %s (Dovecot)", k/1000, t.name), ms(t.median), note)
	}
	logf("compare: Dovecot IMAP mixed load: %d clients", clients)
	rate, err := imapMixed(d.Addr(), box, clients, 5*time.Second)
	if err != nil {
		return fmt.Errorf("dovecot mixed load: %w", err)
	}
	note := "same mix"
	if yubinMixed > 0 && rate > 0 {
		note += fmt.Sprintf("; Yubin/Dovecot %.2fx", yubinMixed/rate)
	}
	add(fmt.Sprintf("IMAP %dk: mixed load, %d clients, 5 s (Dovecot)", k/1000, clients), fmt.Sprintf("%.0f cmd/s", rate), note)
	return nil
}
