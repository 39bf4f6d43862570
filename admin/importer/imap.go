package importer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"yubin/storage"
)

// batchSize bounds how many messages' metadata is held at once.
const batchSize = 200

// IMAPOptions configures IMAP.
type IMAPOptions struct {
	Options
	// URL is imaps://user@host[:port] (TLS, port 993) or
	// imap://user@host[:port] (STARTTLS, port 143). The user part may be
	// left out when Login is set.
	URL string
	// Login overrides the URL's user name.
	Login    string
	Password string
	// TLSConfig for the connection; nil verifies against the system roots.
	TLSConfig *tls.Config
	// AllowPlaintext lets imap:// log in without STARTTLS (for a server on
	// a trusted network or loopback).
	AllowPlaintext bool
	// DialTimeout bounds connecting; 0 means 30 s.
	DialTimeout time.Duration
}

// ParseSource checks an imap:// or imaps:// URL and returns the address
// to dial, the login name in it and whether to use implicit TLS.
func ParseSource(raw string) (addr, login string, implicitTLS bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", false, fmt.Errorf("source URL: %w", err)
	}
	port := ""
	switch strings.ToLower(u.Scheme) {
	case "imaps":
		implicitTLS, port = true, "993"
	case "imap":
		port = "143"
	default:
		return "", "", false, fmt.Errorf("source URL %q: scheme must be imap or imaps", raw)
	}
	if u.Hostname() == "" {
		return "", "", false, fmt.Errorf("source URL %q: no host", raw)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	if u.User != nil {
		login = u.User.Username()
		if _, set := u.User.Password(); set {
			return "", "", false, errors.New("source URL: do not put the password in the URL (use --password-stdin or the prompt)")
		}
	}
	addr = net.JoinHostPort(strings.ToLower(u.Hostname()), port)
	return addr, login, implicitTLS, nil
}

// IMAP copies every wanted folder of an account on another IMAP server
// into opts.User. It returns the summary even when it fails part way;
// a second call resumes where the first stopped.
func IMAP(ctx context.Context, opts IMAPOptions) (Summary, error) {
	addr, login, implicitTLS, err := ParseSource(opts.URL)
	if err != nil {
		return Summary{}, err
	}
	if opts.Login != "" {
		login = opts.Login
	}
	if login == "" {
		return Summary{}, errors.New("no login name: put it in the URL (imaps://user@host) or use --user")
	}
	scheme := "imap"
	if implicitTLS {
		scheme = "imaps"
	}
	source := scheme + "://" + url.PathEscape(login) + "@" + addr
	j, err := newJob(ctx, opts.Options, source)
	if err != nil {
		return Summary{}, err
	}
	c, err := dialIMAP(addr, implicitTLS, opts)
	if err != nil {
		return j.finish(), err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(login, opts.Password).Wait(); err != nil {
		return j.finish(), fmt.Errorf("log in to %s as %s: %w", addr, login, err)
	}
	err = j.imapFolders(c)
	c.Logout().Wait()
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return j.finish(), err
}

func dialIMAP(addr string, implicitTLS bool, opts IMAPOptions) (*imapclient.Client, error) {
	timeout := opts.DialTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	tlsConfig := opts.TLSConfig
	if tlsConfig == nil {
		host, _, _ := net.SplitHostPort(addr)
		tlsConfig = &tls.Config{ServerName: host}
	}
	o := &imapclient.Options{TLSConfig: tlsConfig, Dialer: &net.Dialer{Timeout: timeout}}
	var c *imapclient.Client
	var err error
	switch {
	case implicitTLS:
		c, err = imapclient.DialTLS(addr, o)
	case opts.AllowPlaintext:
		c, err = imapclient.DialInsecure(addr, o)
	default:
		c, err = imapclient.DialStartTLS(addr, o)
		if err != nil {
			err = fmt.Errorf("%w (for a server without STARTTLS on a trusted network, use --allow-plaintext)", err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	return c, nil
}

// sourceFolder is one LIST entry.
type sourceFolder struct {
	name   string // as the server spells it (decoded)
	delim  rune
	attrs  []string
	target string
}

func (j *job) imapFolders(c *imapclient.Client) error {
	listOpts := &imap.ListOptions{}
	if c.Caps().Has(imap.CapSpecialUse) {
		listOpts.ReturnSpecialUse = true
	}
	list, err := c.List("", "*", listOpts).Collect()
	if err != nil {
		return fmt.Errorf("list folders: %w", err)
	}
	var folders []sourceFolder
	for _, l := range list {
		f := sourceFolder{name: l.Mailbox, delim: l.Delim}
		noSelect := false
		for _, a := range l.Attrs {
			f.attrs = append(f.attrs, string(a))
			if a == imap.MailboxAttrNoSelect || a == imap.MailboxAttrNonExistent {
				noSelect = true
			}
		}
		if noSelect {
			continue
		}
		slashed := f.name
		if f.delim != 0 && f.delim != '/' {
			slashed = strings.ReplaceAll(f.name, string(f.delim), "/")
		}
		if !j.wanted(slashed) {
			continue
		}
		target, skip := TargetFolder(f.name, f.delim, f.attrs)
		if skip {
			continue
		}
		f.target = target
		folders = append(folders, f)
	}
	slices.SortFunc(folders, func(a, b sourceFolder) int {
		if (a.target == storage.Inbox) != (b.target == storage.Inbox) {
			if a.target == storage.Inbox {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	for _, f := range folders {
		if err := j.ctx.Err(); err != nil {
			return err
		}
		if err := j.imapFolder(c, f); err != nil {
			return fmt.Errorf("folder %q: %w", f.name, err)
		}
	}
	return nil
}

// meta is what the first pass learns about a message.
type meta struct {
	uid         imap.UID
	flags       []string
	date        time.Time
	size        int64
	fingerprint string
}

func (j *job) imapFolder(c *imapclient.Client, f sourceFolder) error {
	j.Progress.Folder(f.name)
	sel, err := c.Select(f.name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return fmt.Errorf("examine: %w", err)
	}
	j.sum.Folders++
	if err := j.ensureFolder(f.target); err != nil {
		return err
	}
	j.Progress.AddTotal(int(sel.NumMessages), 0)
	if sel.NumMessages == 0 {
		return nil
	}
	st, ok, err := j.Store.ImportFolderState(j.ctx, j.User, j.source, f.name)
	if err != nil {
		return err
	}
	byUID := ok && st.UIDValidity == sel.UIDValidity
	first := imap.UID(1)
	if byUID {
		first = imap.UID(st.LastUID + 1)
	} else {
		st = storage.ImportFolder{UIDValidity: sel.UIDValidity}
	}
	var uids []imap.UID
	if !byUID || st.LastUID < uint64(sel.UIDNext)-1 || sel.UIDNext == 0 {
		var set imap.UIDSet
		set.AddRange(first, 0) // first:*
		data, err := c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		for _, u := range data.AllUIDs() {
			if u >= first { // "N:*" includes the last UID even when below N
				uids = append(uids, u)
			}
		}
	}
	slices.Sort(uids)
	if skipped := int(sel.NumMessages) - len(uids); skipped > 0 {
		j.sum.Skipped += skipped
		for range skipped {
			j.Progress.Done(0)
		}
	}
	for len(uids) > 0 {
		n := min(batchSize, len(uids))
		if err := j.imapBatch(c, f, &st, uids[:n], byUID); err != nil {
			return err
		}
		uids = uids[n:]
	}
	return nil
}

// imapBatch copies one batch of messages: metadata first, then bodies.
func (j *job) imapBatch(c *imapclient.Client, f sourceFolder, st *storage.ImportFolder, uids []imap.UID, byUID bool) error {
	set := imap.UIDSetNum(uids...)
	bufs, err := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true, Envelope: true}).Collect()
	if err != nil {
		return fmt.Errorf("fetch metadata: %w", err)
	}
	metas := map[imap.UID]*meta{}
	bySeq := map[uint32]imap.UID{}
	var want []imap.UID
	for _, b := range bufs {
		m := &meta{uid: b.UID, date: b.InternalDate, size: b.RFC822Size}
		for _, fl := range b.Flags {
			m.flags = append(m.flags, string(fl))
		}
		m.flags = cleanFlags(m.flags)
		msgID, date := "", ""
		if b.Envelope != nil {
			msgID = b.Envelope.MessageID
			if !b.Envelope.Date.IsZero() {
				date = strconv.FormatInt(b.Envelope.Date.Unix(), 10)
			}
		}
		m.fingerprint = f.name + "\x00" + msgID + "\x00" + date + "\x00" + strconv.FormatInt(m.size, 10)
		if !byUID {
			seen, err := j.Store.ImportSeen(j.ctx, j.User, j.source, m.fingerprint)
			if err != nil {
				return err
			}
			if seen {
				j.sum.Skipped++
				j.Progress.Done(0)
				if uint64(m.uid) > st.LastUID {
					st.LastUID = uint64(m.uid)
				}
				continue
			}
		}
		metas[m.uid] = m
		bySeq[b.SeqNum] = m.uid
		want = append(want, m.uid)
	}
	// Vanished between SEARCH and FETCH: nothing to do for those.
	if len(want) == 0 {
		return j.Store.RecordImport(j.ctx, j.User, j.source, f.name, *st, "")
	}
	slices.Sort(want)
	cmd := c.Fetch(imap.UIDSetNum(want...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		var uid imap.UID
		delivered := false
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				if uid == 0 {
					uid = bySeq[msg.SeqNum]
				}
				m := metas[uid]
				if m == nil || it.Literal == nil || delivered {
					continue
				}
				delivered = true
				next := *st
				if uint64(uid) > next.LastUID {
					next.LastUID = uint64(uid)
				}
				size, err := j.deliver(f.target, it.Literal, m.flags, m.date, f.name, next, m.fingerprint)
				if err != nil {
					if j.ctx.Err() != nil {
						cmd.Close()
						return j.ctx.Err()
					}
					j.fail("%s: UID %d: %v", f.name, uid, err)
					j.Progress.Done(0)
					continue
				}
				*st = next
				j.Progress.Done(size)
			}
		}
		if !delivered {
			j.fail("%s: UID %d: the server sent no body", f.name, uid)
			j.Progress.Done(0)
		}
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("fetch messages: %w", err)
	}
	return nil
}

var _ io.Reader = imap.LiteralReader(nil)
