package imapd

import (
	"errors"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// idlePoll is how often an idling session looks for changes other
// programs made to the mailbox's files or index (this process's own
// changes wake it at once through the notifier).
const idlePoll = 5 * time.Second

// cmdIdle implements IDLE (RFC 2177, RFC 9051 §6.3.13): what is pending
// goes out at once, then every change as it happens, until DONE.
func (s *session) cmdIdle(r *request) error {
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	if err := s.w.Continuation("idling"); err != nil {
		return err
	}
	type line struct {
		text string
		err  error
	}
	// The reader goroutine is the only reader of s.r until it sends; the
	// session goroutine only writes meanwhile.
	lines := make(chan line, 1)
	go func() {
		t, err := s.r.ReadLine()
		lines <- line{t, err}
	}()
	tick := time.NewTicker(idlePoll)
	defer tick.Stop()
	for {
		var wake <-chan struct{}
		if s.sel != nil {
			// Taken before reading the log: a change after the read
			// wakes us.
			wake = s.srv.notify.wait(s.user.String(), s.sel.name)
			if err := s.updates(true); err != nil {
				if isIOError(err) {
					return err
				}
				s.log.Error("updates", "err", err)
			}
			if err := s.w.Flush(); err != nil {
				return err
			}
			if s.state == stateLogout {
				return errHandled // BYE sent: UIDVALIDITY changed
			}
		}
		select {
		case <-wake:
		case <-tick.C:
			s.refresh()
		case l := <-lines:
			if l.err != nil {
				var ne net.Error
				if s.isClosing() || (errors.As(l.err, &ne) && ne.Timeout()) {
					if s.isClosing() {
						s.bye("Server shutting down")
					} else {
						s.bye("Autologout; idle for too long")
					}
					s.state = stateLogout
					return errHandled
				}
				return l.err
			}
			if !strings.EqualFold(l.text, "DONE") {
				return bad(imap.ResponseCodeClientBug, "Expected DONE")
			}
			return nil
		case <-s.closing:
			s.bye("Server shutting down")
			s.state = stateLogout
			return errHandled
		}
	}
}
