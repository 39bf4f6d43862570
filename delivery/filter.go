package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Action is what a Filter wants done with a message.
type Action int

const (
	// Accept lets the message through (with any AddHeaders).
	Accept Action = iota
	// Quarantine accepts it for the recipients' Junk folder (JunkHeader).
	Quarantine
	// TempFail refuses it for now (451 4.7.1): the sender retries.
	TempFail
	// Reject refuses it for good (554 5.7.1 unless the Verdict says).
	Reject
)

func (a Action) String() string {
	switch a {
	case Accept:
		return "accept"
	case Quarantine:
		return "quarantine"
	case TempFail:
		return "tempfail"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Field is one header field a filter adds ("X-Spam-Score", "3.2").
type Field struct {
	Key, Value string
}

// Verdict is a filter's decision about one message.
type Verdict struct {
	Action Action
	// Reason is the public text of a refusal ("Virus found: Eicar")
	// and the detail logged with the verdict.
	Reason string
	// AddHeaders are prepended to the message when it is accepted or
	// quarantined; a field a sender supplied under the same name is
	// removed first, so these cannot be forged.
	AddHeaders []Field
	// Code and Enhanced override the SMTP reply of a Reject or TempFail
	// (0 = 554 5.7.1 and 451 4.7.1).
	Code     int
	Enhanced [3]int
}

// Filter is a content scanner run once per message before it is
// acknowledged (clamd, spamd, rspamd, a milter...). msg is the whole
// message as received, readable from any offset and any number of times;
// a Filter must not keep it after Check returns. An error means the
// scanner could not decide (down, slow, confused): the chain applies its
// fail-open or fail-closed rule. Check must return when ctx is done.
type Filter interface {
	Check(ctx context.Context, env *Envelope, msg *io.SectionReader) (Verdict, error)
}

// Stage says where a message comes from, which decides the filters that
// see it.
type Stage int

const (
	// Inbound is port 25: every filter runs.
	Inbound Stage = iota
	// Submission is an authenticated submission (or local sendmail):
	// only filters with OnSubmission run (virus scanning, not spam).
	Submission
)

// ChainFilter is one filter of a FilterChain with its rules.
type ChainFilter struct {
	// Name labels the filter in logs and metrics ("clamd", "spamd").
	Name   string
	Filter Filter
	// Timeout bounds one Check (0 = 30s).
	Timeout time.Duration
	// FailOpen accepts a message the filter could not check, tagged with
	// an X-Yubin-Filter-Skipped field; otherwise it is refused with 451
	// 4.7.1 and the sender retries.
	FailOpen bool
	// OnSubmission runs the filter on submitted mail too.
	OnSubmission bool
}

// FilterChain runs filters in order over one message.
type FilterChain struct {
	Filters []ChainFilter
	// Logger gets one "filter verdict" record per filter and message, with
	// the keys filter and verdict (the metrics count these).
	Logger *slog.Logger
}

// FilterResult is the combined outcome of a chain.
type FilterResult struct {
	// Junk is set when a filter quarantined the message; JunkReason names
	// it (the value of JunkHeader).
	Junk       bool
	JunkReason string
	// AddHeaders are all fields the filters added, in order.
	AddHeaders []Field
}

// SkippedHeader tags a message a fail-open filter could not check.
const SkippedHeader = "X-Yubin-Filter-Skipped"

const defaultFilterTimeout = 30 * time.Second

// Run checks msg with each filter that applies to stage. A Reject or
// TempFail verdict, or a fail-closed filter's error, stops the chain and
// is returned as a *Error for the SMTP reply; otherwise the added headers
// and the junk mark are returned. A nil chain accepts everything.
func (c *FilterChain) Run(ctx context.Context, stage Stage, env *Envelope, msg *io.SectionReader) (FilterResult, error) {
	var res FilterResult
	if c == nil {
		return res, nil
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("queue_id", env.ID)
	for _, f := range c.Filters {
		if stage == Submission && !f.OnSubmission {
			continue
		}
		timeout := f.Timeout
		if timeout <= 0 {
			timeout = defaultFilterTimeout
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		start := time.Now()
		v, err := f.Filter.Check(cctx, env, msg)
		cancel()
		elapsed := time.Since(start).Round(time.Millisecond)
		if err != nil {
			if ctx.Err() != nil {
				return res, AsError(ctx.Err())
			}
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("no answer within %s: %w", timeout, err)
			}
			if f.FailOpen {
				log.Warn("filter verdict", "filter", f.Name, "verdict", "skipped", "err", err, "elapsed", elapsed)
				res.AddHeaders = append(res.AddHeaders, Field{SkippedHeader, f.Name + " unavailable"})
				continue
			}
			log.Warn("filter verdict", "filter", f.Name, "verdict", "error", "err", err, "elapsed", elapsed)
			return res, &Error{Code: 451, Enhanced: [3]int{4, 7, 1}, Temporary: true, Public: "Message could not be checked; try again later", Err: fmt.Errorf("filter %s: %w", f.Name, err)}
		}
		log.Info("filter verdict", "filter", f.Name, "verdict", v.Action.String(), "reason", v.Reason, "elapsed", elapsed, "from", env.From)
		res.AddHeaders = append(res.AddHeaders, v.AddHeaders...)
		switch v.Action {
		case Reject:
			e := &Error{Code: 554, Enhanced: [3]int{5, 7, 1}, Public: v.Reason, Err: fmt.Errorf("filter %s", f.Name)}
			if v.Code != 0 {
				e.Code, e.Enhanced = v.Code, v.Enhanced
			}
			if e.Public == "" {
				e.Public = "Message refused by content filter"
			}
			return res, e
		case TempFail:
			e := &Error{Code: 451, Enhanced: [3]int{4, 7, 1}, Temporary: true, Public: v.Reason, Err: fmt.Errorf("filter %s", f.Name)}
			if v.Code != 0 {
				e.Code, e.Enhanced = v.Code, v.Enhanced
			}
			if e.Public == "" {
				e.Public = "Message deferred by content filter; try again later"
			}
			return res, e
		case Quarantine:
			if !res.Junk {
				res.Junk, res.JunkReason = true, f.Name
			}
		}
	}
	return res, nil
}

// Applies reports whether any filter runs at stage.
func (c *FilterChain) Applies(stage Stage) bool {
	if c == nil {
		return false
	}
	for _, f := range c.Filters {
		if stage == Inbound || f.OnSubmission {
			return true
		}
	}
	return false
}

// WriteFields writes fields as header lines ("Key: value\r\n"); values
// lose any CR or LF so a filter cannot inject fields.
func WriteFields(w io.StringWriter, fields []Field) {
	for _, f := range fields {
		v := strings.NewReplacer("\r", " ", "\n", " ").Replace(f.Value)
		w.WriteString(f.Key + ": " + v + "\r\n")
	}
}

// deadlineConn sets conn's deadline from ctx and closes it when ctx is
// done, so a blocked read or write returns; call the returned stop when
// finished with the connection.
func deadlineConn(ctx context.Context, conn interface {
	SetDeadline(time.Time) error
	Close() error
}) (stop func()) {
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	s := context.AfterFunc(ctx, func() { conn.Close() })
	return func() { s() }
}
