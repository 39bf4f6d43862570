package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Rspamd scores messages with rspamd's HTTP protocol (POST /checkv2 to
// the normal worker, port 11333) and follows rspamd's action: "reject"
// is refused with 550 5.7.1, "add header" and "rewrite subject" go to
// the Junk folder, "soft reject" and "greylist" are deferred with 451
// 4.7.1. Every scored message gets X-Spam-Status and X-Spam-Score.
type Rspamd struct {
	// URL is the normal worker, "http://127.0.0.1:11333"; a bare
	// "host:port" means http.
	URL string
	// ControllerURL is the controller worker used by Learn (port 11334);
	// "" uses URL.
	ControllerURL string
	// Password is sent to the controller for learning ("" = none).
	Password string
	// JunkScore, when > 0, also quarantines at or above this score,
	// whatever rspamd's action; 0 follows rspamd's action only.
	JunkScore float64
	// MaxBytes is the largest message scored (0 = 2 MiB); larger ones
	// pass unscored.
	MaxBytes int64
	// Client is the HTTP client (nil = one without a timeout; the chain's
	// context bounds each call).
	Client *http.Client
}

var _ Filter = (*Rspamd)(nil)

// rspamdReply is the part of rspamd's /checkv2 JSON we use.
type rspamdReply struct {
	IsSkipped     bool                       `json:"is_skipped"`
	Score         float64                    `json:"score"`
	RequiredScore float64                    `json:"required_score"`
	Action        string                     `json:"action"`
	Symbols       map[string]rspamdSymbol    `json:"symbols"`
	Messages      map[string]json.RawMessage `json:"messages"`
}

type rspamdSymbol struct {
	Name  string  `json:"name"`
	Score float64 `json:"score"`
}

// Check implements Filter.
func (r *Rspamd) Check(ctx context.Context, env *Envelope, msg *io.SectionReader) (Verdict, error) {
	if msg.Size() > r.maxBytes() {
		return Verdict{Action: Accept, Reason: "not scored: too large", AddHeaders: []Field{{"X-Spam-Status", "No, skipped (too large)"}}}, nil
	}
	h := http.Header{}
	if env != nil {
		h.Set("From", env.From)
		for _, to := range env.To {
			h.Add("Rcpt", to)
		}
		if env.Remote.IsValid() {
			h.Set("IP", env.Remote.Addr().String())
		}
		if env.Helo != "" {
			h.Set("Helo", env.Helo)
		}
		if env.AuthUser != "" {
			h.Set("User", env.AuthUser)
		}
		if env.ID != "" {
			h.Set("Queue-Id", string(env.ID))
		}
	}
	body, status, err := r.post(ctx, r.base(r.URL)+"/checkv2", h, msg)
	if err != nil {
		return Verdict{}, err
	}
	if status != http.StatusOK {
		return Verdict{}, fmt.Errorf("rspamd: HTTP %d: %s", status, sanitizeReply(string(body)))
	}
	var rep rspamdReply
	if err := json.Unmarshal(body, &rep); err != nil {
		return Verdict{}, fmt.Errorf("rspamd: bad reply: %w", err)
	}
	if rep.Action == "" {
		return Verdict{}, fmt.Errorf("rspamd: reply without action")
	}
	return r.verdict(rep), nil
}

func (r *Rspamd) verdict(rep rspamdReply) Verdict {
	scoreText := strconv.FormatFloat(rep.Score, 'f', 2, 64)
	syms := make([]string, 0, len(rep.Symbols))
	for name := range rep.Symbols {
		syms = append(syms, name)
	}
	sort.Strings(syms)
	action := strings.ToLower(rep.Action)
	junk := action == "add header" || action == "rewrite subject" || action == "reject"
	if r.JunkScore > 0 && rep.Score >= r.JunkScore {
		junk = true
	}
	yes := "No"
	if junk {
		yes = "Yes"
	}
	v := Verdict{
		Action: Accept,
		Reason: "score " + scoreText + " action " + action,
		AddHeaders: []Field{
			{"X-Spam-Status", fmt.Sprintf("%s, score=%s required=%s action=%q tests=%s", yes, scoreText,
				strconv.FormatFloat(rep.RequiredScore, 'f', 2, 64), sanitizeReply(action), sanitizeReply(strings.Join(syms, ",")))},
			{"X-Spam-Score", scoreText},
		},
	}
	switch action {
	case "reject":
		v.Action, v.Code, v.Enhanced = Reject, 550, [3]int{5, 7, 1}
		v.Reason = "Message refused as spam (score " + scoreText + ")"
	case "soft reject", "greylist":
		v.Action, v.Code, v.Enhanced = TempFail, 451, [3]int{4, 7, 1}
		v.Reason = "Message deferred (" + action + "); try again later"
	default:
		if junk {
			v.Action = Quarantine
		}
	}
	return v
}

// Learn teaches rspamd's Bayes classifier that msg is spam (or ham) with
// the controller's /learnspam or /learnham. "Already learned" (HTTP 208)
// is not an error.
func (r *Rspamd) Learn(ctx context.Context, msg *io.SectionReader, spam bool) error {
	if msg.Size() > r.maxBytes() {
		return nil
	}
	path := "/learnham"
	if spam {
		path = "/learnspam"
	}
	base := r.ControllerURL
	if base == "" {
		base = r.URL
	}
	h := http.Header{}
	if r.Password != "" {
		h.Set("Password", r.Password)
	}
	body, status, err := r.post(ctx, r.base(base)+path, h, msg)
	if err != nil {
		return err
	}
	switch status {
	case http.StatusOK, http.StatusAlreadyReported:
		return nil
	}
	return fmt.Errorf("rspamd %s: HTTP %d: %s", path, status, sanitizeReply(string(body)))
}

func (r *Rspamd) maxBytes() int64 {
	if r.MaxBytes <= 0 {
		return 2 << 20
	}
	return r.MaxBytes
}

func (r *Rspamd) base(u string) string {
	u = strings.TrimRight(u, "/")
	if !strings.Contains(u, "://") {
		u = "http://" + u
	}
	return u
}

func (r *Rspamd) post(ctx context.Context, url string, h http.Header, msg *io.SectionReader) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, io.NewSectionReader(msg, 0, msg.Size()))
	if err != nil {
		return nil, 0, fmt.Errorf("rspamd: %w", err)
	}
	req.ContentLength = msg.Size()
	for k, vs := range h {
		req.Header[k] = vs
	}
	c := r.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, 0, fmt.Errorf("rspamd: %w", err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(resp.Body, 1<<20)); err != nil {
		return nil, 0, fmt.Errorf("rspamd: read reply: %w", err)
	}
	return buf.Bytes(), resp.StatusCode, nil
}
