package delivery

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
	"strings"
)

// Spamd scores messages with SpamAssassin's spamd over the SPAMC protocol
// (SYMBOLS command). Every scored message gets X-Spam-Status and
// X-Spam-Score fields; a score at or above RejectScore is refused with
// 550 5.7.1, one at or above JunkScore goes to the Junk folder. The
// scores are ours, not spamd's required_score.
type Spamd struct {
	// Address is "host:port", "unix:/path" or an absolute socket path.
	Address string
	// JunkScore quarantines at or above it (0 = 5.0).
	JunkScore float64
	// RejectScore refuses at or above it (0 = never).
	RejectScore float64
	// MaxBytes is the largest message scored (0 = 512 KiB, spamc's
	// default); larger ones pass unscored, as spam is small.
	MaxBytes int64
	// User is sent as the SPAMC User header (spamd's per-user settings);
	// "" sends none.
	User string
}

var _ Filter = (*Spamd)(nil)

// Check implements Filter.
func (s *Spamd) Check(ctx context.Context, env *Envelope, msg *io.SectionReader) (Verdict, error) {
	if msg.Size() > s.maxBytes() {
		return Verdict{Action: Accept, Reason: "not scored: too large", AddHeaders: []Field{{"X-Spam-Status", "No, skipped (too large)"}}}, nil
	}
	hdr, body, err := s.call(ctx, "SYMBOLS", nil, msg)
	if err != nil {
		return Verdict{}, err
	}
	score, _, err := parseSpamHeader(hdr.Get("Spam"))
	if err != nil {
		return Verdict{}, fmt.Errorf("spamd: %w", err)
	}
	junk := s.JunkScore
	if junk <= 0 {
		junk = 5.0
	}
	tests := strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(body), ",", " ")), ",")
	yes := "No"
	if score >= junk {
		yes = "Yes"
	}
	scoreText := strconv.FormatFloat(score, 'f', 1, 64)
	v := Verdict{
		Action: Accept,
		Reason: "score " + scoreText,
		AddHeaders: []Field{
			{"X-Spam-Status", fmt.Sprintf("%s, score=%s required=%s tests=%s", yes, scoreText, strconv.FormatFloat(junk, 'f', 1, 64), sanitizeReply(tests))},
			{"X-Spam-Score", scoreText},
		},
	}
	switch {
	case s.RejectScore > 0 && score >= s.RejectScore:
		v.Action, v.Code, v.Enhanced = Reject, 550, [3]int{5, 7, 1}
		v.Reason = "Message refused as spam (score " + scoreText + ")"
	case score >= junk:
		v.Action = Quarantine
	}
	return v, nil
}

// Learn teaches spamd's Bayes database that msg is spam (or ham) with the
// TELL command; spamd must run with --allow-tell.
func (s *Spamd) Learn(ctx context.Context, msg *io.SectionReader, spam bool) error {
	if msg.Size() > s.maxBytes() {
		return nil // not scored either
	}
	class := "ham"
	if spam {
		class = "spam"
	}
	// A reply without DidSet means it was already learned as class.
	_, _, err := s.call(ctx, "TELL", []string{"Message-class: " + class, "Set: local"}, msg)
	return err
}

func (s *Spamd) maxBytes() int64 {
	if s.MaxBytes <= 0 {
		return 512 << 10
	}
	return s.MaxBytes
}

// call sends one SPAMC request and returns spamd's response header and
// body.
func (s *Spamd) call(ctx context.Context, cmd string, extra []string, msg *io.SectionReader) (textproto.MIMEHeader, string, error) {
	conn, err := dialFilter(ctx, s.Address)
	if err != nil {
		return nil, "", fmt.Errorf("spamd: %w", err)
	}
	defer conn.Close()
	stop := deadlineConn(ctx, conn)
	defer stop()
	fail := func(err error) (textproto.MIMEHeader, string, error) {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, "", fmt.Errorf("spamd %s: %w", cmd, err)
	}
	bw := bufio.NewWriterSize(conn, 64<<10)
	fmt.Fprintf(bw, "%s SPAMC/1.5\r\nContent-length: %d\r\n", cmd, msg.Size())
	if s.User != "" {
		fmt.Fprintf(bw, "User: %s\r\n", s.User)
	}
	for _, l := range extra {
		bw.WriteString(l + "\r\n")
	}
	bw.WriteString("\r\n")
	if _, err := io.Copy(bw, io.NewSectionReader(msg, 0, msg.Size())); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	tr := textproto.NewReader(bufio.NewReader(io.LimitReader(conn, 1<<20)))
	status, err := tr.ReadLine()
	if err != nil {
		return fail(fmt.Errorf("read status: %w", err))
	}
	// "SPAMD/1.1 0 EX_OK"
	f := strings.Fields(status)
	if len(f) < 2 || !strings.HasPrefix(f[0], "SPAMD/") {
		return fail(fmt.Errorf("bad status line %q", status))
	}
	if f[1] != "0" {
		return fail(fmt.Errorf("spamd error %q", status))
	}
	hdr, err := tr.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		return fail(fmt.Errorf("read header: %w", err))
	}
	body, _ := io.ReadAll(tr.R)
	return hdr, string(body), nil
}

// parseSpamHeader reads "True ; 1000.0 / 5.0".
func parseSpamHeader(v string) (score, threshold float64, err error) {
	_, rest, ok := strings.Cut(v, ";")
	if !ok {
		return 0, 0, fmt.Errorf("bad Spam header %q", v)
	}
	a, b, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, fmt.Errorf("bad Spam header %q", v)
	}
	if score, err = strconv.ParseFloat(strings.TrimSpace(a), 64); err != nil {
		return 0, 0, fmt.Errorf("bad Spam header %q", v)
	}
	if threshold, err = strconv.ParseFloat(strings.TrimSpace(b), 64); err != nil {
		return 0, 0, fmt.Errorf("bad Spam header %q", v)
	}
	return score, threshold, nil
}
