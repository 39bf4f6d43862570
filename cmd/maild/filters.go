package main

import (
	"log/slog"

	"yubin/admin/config"
	"yubin/delivery"
	"yubin/imapd"
)

// filterChain builds the content filters from [filters]: clamd first (a
// virus is refused whatever its score), then spamd. Nil when none is
// configured.
func filterChain(cfg config.Filters, log *slog.Logger) *delivery.FilterChain {
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
	if len(fs) == 0 {
		return nil
	}
	log.Info("content filters", "clamd", cfg.Clamd.Address, "spamd", cfg.Spamd.Address)
	return &delivery.FilterChain{Filters: fs, Logger: log}
}

// junkLearner is the IMAP Junk learner from [filters.spamd] (learn =
// true), or nil.
func junkLearner(cfg config.Filters) imapd.Learner {
	s := cfg.Spamd
	if s.Address == "" || !s.Learn {
		return nil
	}
	return &delivery.Spamd{Address: s.Address, MaxBytes: s.MaxBytes}
}
