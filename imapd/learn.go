package imapd

import (
	"context"
	"io"
	"strings"
	"time"

	"yubin/storage"
)

// Learner teaches the spam engine from users' own filing (spamd TELL,
// rspamd learn). It is called from a goroutine, never on the session's
// path; msg is the whole message and is closed after Learn returns.
type Learner interface {
	Learn(ctx context.Context, msg *io.SectionReader, spam bool) error
}

// junkName is the folder whose moves teach the spam engine.
const junkName = "Junk"

// learnTimeout bounds one batch of learning.
const learnTimeout = 2 * time.Minute

// learnFiled feeds messages just copied or moved from src to dst to the
// Learner: into Junk as spam, out of Junk (not into Trash: deleting
// spam says nothing) as ham. dstUIDs are the copies' UIDs in dst; the
// work runs in the background so the reply is not delayed.
func (s *session) learnFiled(src, dst string, dstUIDs []uint32) {
	l := s.srv.opts.Learner
	if l == nil || len(dstUIDs) == 0 {
		return
	}
	toJunk, fromJunk := strings.EqualFold(dst, junkName), strings.EqualFold(src, junkName)
	if toJunk == fromJunk || strings.EqualFold(dst, "Trash") {
		return
	}
	acct, log := s.acct, s.log
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), learnTimeout)
		defer cancel()
		for _, uid := range dstUIDs {
			if err := learnOne(ctx, l, acct, dst, uid, toJunk); err != nil {
				log.Warn("learn", "mailbox", dst, "uid", uid, "spam", toJunk, "err", err)
				return
			}
		}
		log.Info("learned", "mailbox", dst, "spam", toJunk, "count", len(dstUIDs))
	}()
}

func learnOne(ctx context.Context, l Learner, acct *storage.Account, mailbox string, uid uint32, spam bool) error {
	f, m, err := acct.Open(ctx, mailbox, uid)
	if err != nil {
		return err
	}
	defer f.Close()
	return l.Learn(ctx, io.NewSectionReader(f, 0, m.Size), spam)
}
