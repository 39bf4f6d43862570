package control

import (
	"time"

	"yubin/delivery"
)

// Status is maild's answer to GET /v1/status.
type Status struct {
	Version  string    `json:"version"`
	Hostname string    `json:"hostname"`
	PID      int       `json:"pid"`
	Started  time.Time `json:"started"`
	// Messages and Recipients count what is still queued.
	Messages   int `json:"queued_messages"`
	Recipients int `json:"queued_recipients"`
	// OldestQueued is when the oldest queued message arrived; zero when
	// the queue is empty.
	OldestQueued time.Time `json:"oldest_queued,omitzero"`
	// GoVersion is the Go release maild was built with.
	GoVersion string `json:"go_version,omitempty"`
	// Listeners are the bound addresses, control socket excluded.
	Listeners []Listener `json:"listeners,omitempty"`
	// Certificate is the certificate the TLS listeners serve.
	Certificate *Certificate `json:"certificate,omitempty"`
	// MTASTSPolicyID is the id of the MTA-STS policy served; "" when
	// MTA-STS is off.
	MTASTSPolicyID string `json:"mta_sts_policy_id,omitempty"`
}

// Listener is one bound listener.
type Listener struct {
	Proto string `json:"proto"` // "smtp", "submissions", "imaps", "https", "metrics", ...
	Addr  string `json:"addr"`  // "0.0.0.0:25"
}

// Certificate describes the served TLS certificate.
type Certificate struct {
	Subject    string    `json:"subject"`
	Issuer     string    `json:"issuer"`
	DNSNames   []string  `json:"dns_names"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	SelfSigned bool      `json:"self_signed"`
}

// QueueEntry is one queued message: with its pending recipients in a
// list, with every recipient (see State) when shown alone.
type QueueEntry struct {
	ID            string           `json:"id"`
	From          string           `json:"from"`                // "" is the null sender
	AuthUser      string           `json:"auth_user,omitempty"` // the submitting user
	ReceivedAt    time.Time        `json:"received_at"`
	Size          int64            `json:"size"`
	DelayNotified bool             `json:"delay_notified"` // the sender has had a delay notice
	Recipients    []QueueRecipient `json:"recipients"`
}

// QueueRecipient is a recipient's delivery state.
type QueueRecipient struct {
	Address     string    `json:"address"`
	State       string    `json:"state"` // "pending", "delivered" or "failed"
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error,omitempty"`
}

func queueEntry(e delivery.Entry) QueueEntry {
	out := QueueEntry{ID: string(e.ID), From: e.From, AuthUser: e.AuthUser, ReceivedAt: e.ReceivedAt.UTC(), Size: e.Size,
		DelayNotified: e.DelayNotified, Recipients: make([]QueueRecipient, 0, len(e.Recipients))}
	for _, r := range e.Recipients {
		out.Recipients = append(out.Recipients, QueueRecipient{Address: r.Address, State: r.State, Attempts: r.Attempts,
			NextAttempt: r.NextAttempt.UTC(), LastError: r.LastError})
	}
	return out
}

// ResolveRequest is the body of POST /v1/resolve.
type ResolveRequest struct {
	Address string `json:"address"`
}

// Route is how the daemon routes an address: to local mailboxes, to
// remote addresses (alias targets elsewhere), or, for a domain that is
// not local, to remote delivery of the address itself.
type Route struct {
	Address     string        `json:"address"` // normalised
	LocalDomain bool          `json:"local_domain"`
	Targets     []RouteTarget `json:"targets"`
}

// RouteTarget is one final recipient.
type RouteTarget struct {
	Address string `json:"address"`
	Local   bool   `json:"local"` // a local user's Maildir; false = remote delivery
}

// SubmitRequest is the envelope line that starts a POST /v1/submit body.
type SubmitRequest struct {
	From string   `json:"from"` // "" is the null sender
	To   []string `json:"to"`
}

// SubmitResult is the answer to a successful submission.
type SubmitResult struct {
	ID string `json:"id"` // the queue id
}

// errorBody is every error response.
type errorBody struct {
	Error string `json:"error"`
	// Set when a submission was refused with a delivery.Error.
	Code      int    `json:"code,omitempty"`
	Enhanced  string `json:"enhanced,omitempty"` // "5.1.1"
	Temporary bool   `json:"temporary,omitempty"`
}
