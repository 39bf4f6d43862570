package main

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"yubin/admin/config"
	"yubin/delivery"
	"yubin/storage"
)

// srsSetup builds SRS from [delivery] srs and srs_domain: the key is
// data_dir/srs.key. rewrite maps the envelope sender of outgoing mail:
// a sender outside our local domains (so the mail is being forwarded)
// gets an SRS address; the null sender and our own senders pass as they
// are. Both are nil when SRS is off.
func srsSetup(cfg config.Config, st *storage.Store) (*delivery.SRS, func(string) string, error) {
	if !cfg.Delivery.SRS {
		return nil, nil, nil
	}
	key, err := delivery.LoadSRSKey(filepath.Join(cfg.DataDir, "srs.key"))
	if err != nil {
		return nil, nil, err
	}
	domain := cfg.Delivery.SRSDomain
	if domain == "" {
		domain = cfg.Hostname
	}
	srs := &delivery.SRS{Key: key, Domain: domain}
	rewrite := func(from string) string {
		at := strings.LastIndexByte(from, '@')
		if from == "" || at < 0 || strings.EqualFold(from[at+1:], domain) {
			return from
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		local, err := st.IsLocalDomain(ctx, from[at+1:])
		if err != nil || local {
			// On a lookup error keep the sender: at worst SPF fails
			// at the receiver, as without SRS.
			return from
		}
		return srs.Forward(from)
	}
	return srs, rewrite, nil
}
