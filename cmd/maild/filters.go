package main

import (
	"log/slog"

	"yubin/admin/config"
	"yubin/delivery"
	"yubin/imapd"
)

// filterChain builds the content filters from [filters]: clamd first (a
// virus is refused whatever its score), then spamd or rspamd, then the
// milter. Nil when none is
// configured.
func filterChain(cfg config.Filters, hostname string, log *slog.Logger) *delivery.FilterChain {
	var fs []delivery.ChainFilter
	if c := cfg.Clamd; c.Address != "" {
		fs = append(fs, delivery.ChainFilter{
			Name:         "clamd",
			Filter:       &delivery.Clamd{Address: c.Address, MaxBytes: c.MaxBytes},
			Timeout:      c.Timeout,
			FailOpen:     c.FailOpen,
			OnSubmission: true,
		})
	}
	if s := cfg.Spamd; s.Address != "" {
		fs = append(fs, delivery.ChainFilter{
			Name:     "spamd",
			Filter:   &delivery.Spamd{Address: s.Address, JunkScore: s.JunkScore, RejectScore: s.RejectScore, MaxBytes: s.MaxBytes},
			Timeout:  s.Timeout,
			FailOpen: s.FailOpen,
		})
	}
	if r := cfg.Rspamd; r.Address != "" {
		fs = append(fs, delivery.ChainFilter{
			Name:     "rspamd",
			Filter:   &delivery.Rspamd{URL: r.Address, JunkScore: r.JunkScore, MaxBytes: r.MaxBytes},
			Timeout:  r.Timeout,
			FailOpen: r.FailOpen,
		})
	}
	if m := cfg.Milter; m.Address != "" {
		// Validated at load time.
		network, addr, _ := config.ParseMilterAddress(m.Address)
		fs = append(fs, delivery.ChainFilter{
			Name:         "milter",
			Filter:       &delivery.Milter{Network: network, Address: addr, Hostname: hostname},
			Timeout:      m.Timeout,
			FailOpen:     m.FailOpen,
			OnSubmission: m.OnSubmission,
		})
	}
	if len(fs) == 0 {
		return nil
	}
	log.Info("content filters", "clamd", cfg.Clamd.Address, "spamd", cfg.Spamd.Address, "rspamd", cfg.Rspamd.Address, "milter", cfg.Milter.Address)
	return &delivery.FilterChain{Filters: fs, Logger: log}
}

// junkLearner is the IMAP Junk learner from [filters.spamd] (learn =
// true), or nil.
func junkLearner(cfg config.Filters) imapd.Learner {
	if r := cfg.Rspamd; r.Address != "" && r.Learn {
		return &delivery.Rspamd{URL: r.Address, ControllerURL: r.Controller, Password: r.Password, MaxBytes: r.MaxBytes}
	}
	s := cfg.Spamd
	if s.Address == "" || !s.Learn {
		return nil
	}
	return &delivery.Spamd{Address: s.Address, MaxBytes: s.MaxBytes}
}
