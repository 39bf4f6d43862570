package submission

import (
	"bufio"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/dkim"

	"yubin/delivery"
	"yubin/smtpd"
	"yubin/smtpd/senderauth"
	"yubin/storage"
)

// signedHeaders are the fields DKIM signs when present (RFC 6376 §5.4.1);
// From appears twice so a second From added in transit breaks the
// signature (oversigning).
var signedHeaders = []string{
	"From", "From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "List-Id", "List-Unsubscribe",
}

// Message checks the From: header, adds missing Message-ID/Date/From and
// signs with the sender domain's DKIM key.
func (p *Policy) Message(ctx context.Context, s *smtpd.State, env *delivery.Envelope, msg io.Reader) (io.ReadCloser, error) {
	rc, err := p.prepare(ctx, s.AuthUser, env.From, msg)
	if err == nil {
		rc, err = p.filter(ctx, env, rc)
	}
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	p.rates.record(s.AuthUser)
	return rc, nil
}

// filter runs the submission filters (virus scanning) over a prepared
// message; a refusal closes it.
func (p *Policy) filter(ctx context.Context, env *delivery.Envelope, rc *prepared) (*prepared, error) {
	if !p.opts.Filters.Applies(delivery.Submission) {
		return rc, nil
	}
	fi, err := rc.f.Stat()
	if err != nil {
		rc.Close()
		return nil, delivery.AsError(err)
	}
	res, err := p.opts.Filters.Run(ctx, delivery.Submission, env, io.NewSectionReader(rc.f, 0, fi.Size()))
	if err != nil {
		rc.Close()
		return nil, err
	}
	var head strings.Builder
	delivery.WriteFields(&head, res.AddHeaders)
	rc.Reader = io.MultiReader(strings.NewReader(head.String()), rc.Reader)
	return rc, nil
}

// Submit queues a message handed over locally (sendmail): same header
// fix-up and signing as a network submission, from a trusted local
// process, so the sender is not checked.
func (p *Policy) Submit(ctx context.Context, from string, to []string, msg io.Reader) (delivery.ID, error) {
	if p.opts.Queue == nil {
		return "", errors.New("submission: no queue")
	}
	if len(to) == 0 {
		return "", &delivery.Error{Code: 554, Enhanced: [3]int{5, 5, 1}, Public: "No recipients"}
	}
	for _, rcpt := range to {
		if _, err := storage.ParseAddress(rcpt); err != nil {
			return "", &delivery.Error{Code: 501, Enhanced: [3]int{5, 1, 3}, Public: fmt.Sprintf("Bad recipient address %q", rcpt), Err: err}
		}
	}
	env := delivery.Envelope{ID: delivery.NewID(), From: from, To: to, ReceivedAt: time.Now()}
	rc, err := p.prepare(ctx, "", from, msg)
	if err == nil {
		rc, err = p.filter(ctx, &env, rc)
	}
	if err != nil {
		return "", err
	}
	defer rc.Close()
	received := fmt.Sprintf("Received: by %s (Yubin sendmail) id %s;\r\n\t%s\r\n", p.opts.Hostname, env.ID, env.ReceivedAt.Format(time.RFC1123Z))
	return p.opts.Queue.Enqueue(ctx, env, io.MultiReader(strings.NewReader(received), rc))
}

// prepare reads the header, checks and completes it, writes the message
// to an unlinked temporary file while computing the DKIM signature, and
// returns signature + message. user "" skips the From: ownership check.
func (p *Policy) prepare(ctx context.Context, user, from string, msg io.Reader) (*prepared, error) {
	// The header is read from the same buffered reader the body is then
	// copied from; its size is bounded by the message size limit.
	br := bufio.NewReaderSize(msg, 64<<10)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return nil, &delivery.Error{Code: 554, Enhanced: [3]int{5, 6, 0}, Public: "Malformed message header", Err: err}
	}
	mh := mail.Header{Header: message.Header{Header: h}}
	authors, err := senderauth.ParseAuthors(h)
	if err != nil {
		var ae *senderauth.AuthorError
		public := "Malformed originator field"
		if errors.As(err, &ae) {
			public = ae.Reason
		}
		return nil, &delivery.Error{Code: 554, Enhanced: [3]int{5, 6, 0}, Public: public, Err: err}
	}
	if err := p.checkAuthors(ctx, user, authors); err != nil {
		return nil, err
	}
	froms := authors.From
	if len(froms) == 0 && from != "" {
		mh.SetAddressList("From", []*mail.Address{{Address: from}})
		froms = []*mail.Address{{Address: from}}
	}
	if !mh.Has("Message-Id") {
		mh.Set("Message-Id", newMessageID(p.opts.Hostname))
	}
	if !mh.Has("Date") {
		mh.SetDate(time.Now())
	}

	f, err := os.CreateTemp(p.opts.TempDir, "yubin-submit-")
	if err != nil {
		return nil, delivery.AsError(fmt.Errorf("submission temp file: %w", err))
	}
	// Unlinked at once: nothing is left behind if the process dies.
	os.Remove(f.Name())
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	var w io.Writer = f
	var signer *dkim.Signer
	if len(froms) > 0 {
		if signer, err = p.signer(ctx, froms[0].Address); err != nil {
			return nil, err
		}
		if signer != nil {
			w = io.MultiWriter(f, signer)
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := textproto.WriteHeader(bw, mh.Header.Header); err != nil {
		return nil, delivery.AsError(err)
	}
	if _, err := io.Copy(bw, br); err != nil {
		return nil, err // the client's data error decides the reply
	}
	if err := bw.Flush(); err != nil {
		return nil, delivery.AsError(err)
	}
	var sig string
	if signer != nil {
		if err := signer.Close(); err != nil {
			return nil, delivery.AsError(fmt.Errorf("dkim sign: %w", err))
		}
		sig = signer.Signature()
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, delivery.AsError(err)
	}
	ok = true
	return &prepared{Reader: io.MultiReader(strings.NewReader(sig), bufio.NewReaderSize(f, 64<<10)), f: f}, nil
}

type prepared struct {
	io.Reader
	f *os.File
}

func (p *prepared) Close() error { return p.f.Close() }

// checkAuthors enforces the originator fields (RFC 5322 §3.6.2): at most
// one From and one Sender field, and, for an authenticated user, every
// address in From, Sender, Resent-From and Resent-Sender one the user
// may send as. A client shows the first From only, and the DKIM
// signature covers them all, so a second From naming someone else would
// be signed with our key (553 5.7.1, as for a foreign envelope sender).
// user "" (local sendmail) checks the field counts only.
func (p *Policy) checkAuthors(ctx context.Context, user string, a senderauth.Authors) error {
	if a.FromFields > 1 {
		return &delivery.Error{Code: 553, Enhanced: [3]int{5, 7, 1}, Public: fmt.Sprintf("Message has %d From: fields; RFC 5322 allows one", a.FromFields)}
	}
	if a.SenderFields > 1 || len(a.Sender) > 1 {
		return &delivery.Error{Code: 553, Enhanced: [3]int{5, 7, 1}, Public: "Message has more than one Sender: address; RFC 5322 allows one"}
	}
	if user == "" {
		return nil
	}
	for _, f := range []struct {
		what  string
		addrs []*mail.Address
	}{
		{"From: address", a.From},
		{"Sender: address", a.Sender},
		{"Resent-From: address", a.ResentFrom},
		{"Resent-Sender: address", a.ResentSender},
	} {
		for _, addr := range f.addrs {
			if err := p.checkSender(ctx, user, addr.Address, f.what); err != nil {
				return err
			}
		}
	}
	return nil
}

// signer returns a DKIM signer for the From: address's domain, or nil when
// the domain has no key.
func (p *Policy) signer(ctx context.Context, from string) (*dkim.Signer, error) {
	a, err := storage.ParseAddress(from)
	if err != nil {
		return nil, nil
	}
	key, err := p.opts.Directory.DKIMKey(ctx, a.Domain)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, delivery.AsError(err)
	}
	priv, err := parseKey(key.PrivateKeyPEM)
	if err != nil {
		p.log.Error("dkim key unusable; sending unsigned", "domain", a.Domain, "err", err)
		return nil, nil
	}
	return dkim.NewSigner(&dkim.SignOptions{
		Domain:                 a.Domain,
		Selector:               key.Selector,
		Signer:                 priv,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             signedHeaders,
	})
}

func parseKey(pemBytes []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key type %T cannot sign", k)
	}
	return s, nil
}

func newMessageID(hostname string) string {
	var b [12]byte
	rand.Read(b[:])
	return fmt.Sprintf("<%x.%d@%s>", b, time.Now().UnixNano(), hostname)
}
