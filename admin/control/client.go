package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrNotRunning means nothing answers on the control socket: maild is
// stopped (or uses another socket path).
var ErrNotRunning = errors.New("maild is not running")

// Error is an error answer from maild.
type Error struct {
	// Status is the HTTP status (404 for an id that is not queued).
	Status int
	// Message is maild's error text.
	Message string
	// Code, Enhanced and Temporary are set when a submission was refused:
	// the SMTP reply code, the enhanced status code ("5.1.1") and
	// whether trying again later may succeed.
	Code      int
	Enhanced  string
	Temporary bool
}

func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("%d %s %s", e.Code, e.Enhanced, e.Message)
	}
	return e.Message
}

// Client talks to maild over its control socket. Each call connects
// anew; a Client is safe for concurrent use.
type Client struct {
	path string
	hc   *http.Client
}

// Dial returns a client for the socket at path. It does not connect:
// every call does, and fails with an error wrapping ErrNotRunning when
// nothing listens there.
func Dial(path string) *Client {
	c := &Client{path: path}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	c.hc = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives:     true,
		ResponseHeaderTimeout: 0, // a submission streams for as long as stdin does
	}}
	return c
}

// Path is the socket path the client uses.
func (c *Client) Path() string { return c.path }

// dialError explains a failed connection.
func (c *Client) dialError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w (no control socket at %s)", ErrNotRunning, c.path)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("socket %s: permission denied (the control socket is for root and maild's user; the submit socket also for group %s)", c.path, SubmitGroup)
	}
	return fmt.Errorf("control socket %s: %w", c.path, err)
}

// do sends a request and decodes a JSON answer into out (unless nil).
func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://maild"+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return c.dialError(err)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("control socket %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("control socket %s: %w", c.path, err)
	}
	if resp.StatusCode >= 300 {
		var eb errorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(data))
			if eb.Error == "" {
				eb.Error = resp.Status
			}
		}
		return &Error{Status: resp.StatusCode, Message: eb.Error, Code: eb.Code, Enhanced: eb.Enhanced, Temporary: eb.Temporary}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("control socket %s: bad answer: %w", c.path, err)
		}
	}
	return nil
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	return c.do(ctx, method, path, ct, body, out)
}

// Status returns maild's version, hostname, start time and queue size.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.doJSON(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// Queue lists the queued messages, oldest first.
func (c *Client) Queue(ctx context.Context) ([]QueueEntry, error) {
	var out []QueueEntry
	err := c.doJSON(ctx, http.MethodGet, "/v1/queue", nil, &out)
	return out, err
}

func idPath(id string) string { return "/v1/queue/" + url.PathEscape(id) }

// QueueShow returns one queued message (an *Error with Status 404 if it
// is not queued).
func (c *Client) QueueShow(ctx context.Context, id string) (QueueEntry, error) {
	var e QueueEntry
	err := c.doJSON(ctx, http.MethodGet, idPath(id), nil, &e)
	return e, err
}

// QueueRetry schedules the message for a delivery attempt now; id ""
// retries every queued message.
func (c *Client) QueueRetry(ctx context.Context, id string) error {
	if id == "" {
		return c.doJSON(ctx, http.MethodPost, "/v1/queue/retry", nil, nil)
	}
	return c.doJSON(ctx, http.MethodPost, idPath(id)+"/retry", nil, nil)
}

// QueueDelete removes the message from the queue; nobody is told.
func (c *Client) QueueDelete(ctx context.Context, id string) error {
	return c.doJSON(ctx, http.MethodDelete, idPath(id), nil, nil)
}

// QueueBounce fails the message's pending recipients now; the sender
// gets a delivery status notification.
func (c *Client) QueueBounce(ctx context.Context, id string) error {
	return c.doJSON(ctx, http.MethodPost, idPath(id)+"/bounce", nil, nil)
}

// Resolve asks how maild routes addr.
func (c *Client) Resolve(ctx context.Context, addr string) (Route, error) {
	var r Route
	err := c.doJSON(ctx, http.MethodPost, "/v1/resolve", ResolveRequest{Address: addr}, &r)
	return r, err
}

// SubmitContentType is the media type of a /v1/submit body.
const SubmitContentType = "application/vnd.yubin.submit"

// Submit hands a message to maild's submission path, streaming msg, and
// returns its queue id. A refusal is an *Error with the SMTP code.
func (c *Client) Submit(ctx context.Context, from string, to []string, msg io.Reader) (string, error) {
	env, err := json.Marshal(SubmitRequest{From: from, To: to})
	if err != nil {
		return "", err
	}
	body := io.MultiReader(bytes.NewReader(append(env, '\n')), msg)
	var res SubmitResult
	if err := c.do(ctx, http.MethodPost, "/v1/submit", SubmitContentType, body, &res); err != nil {
		return "", err
	}
	return res.ID, nil
}
