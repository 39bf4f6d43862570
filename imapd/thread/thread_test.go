package thread

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// msg is a message sent Num minutes after t0.
func msg(num uint32, id, subject string, refs ...string) Message {
	return Message{
		Num:        num,
		Date:       t0.Add(time.Duration(num) * time.Minute),
		Arrival:    t0.Add(time.Duration(num) * time.Minute),
		Subject:    subject,
		MessageID:  id,
		References: refs,
	}
}

// checkTree fails unless every message appears exactly once and every
// dummy is at the top with at least two children (REFERENCES) or absent.
func checkTree(t *testing.T, msgs []Message, threads []*Node) {
	t.Helper()
	seen := make(map[uint32]int)
	var walk func(n *Node, top bool)
	walk = func(n *Node, top bool) {
		if n.Num == 0 {
			if !top || len(n.Children) < 2 {
				t.Errorf("dummy with %d children, top %v", len(n.Children), top)
			}
		} else {
			seen[n.Num]++
		}
		for _, c := range n.Children {
			walk(c, false)
		}
	}
	for _, n := range threads {
		walk(n, true)
	}
	for _, m := range msgs {
		if seen[m.Num] != 1 {
			t.Errorf("message %d appears %d times", m.Num, seen[m.Num])
		}
	}
	if len(seen) != len(msgs) {
		t.Errorf("%d numbers in the tree, %d messages", len(seen), len(msgs))
	}
}

func TestThreadReferences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msgs []Message
		want string
	}{{
		// The shape of RFC 5256 §4's example response.
		name: "RFC 5256 example",
		msgs: []Message{
			msg(2, "<2@x>", "other"),
			msg(3, "<3@x>", "topic"),
			msg(6, "<6@x>", "Re: topic", "<3@x>"),
			msg(4, "<4@x>", "Re: topic", "<3@x>", "<6@x>"),
			msg(23, "<23@x>", "Re: topic", "<3@x>", "<6@x>", "<4@x>"),
			msg(44, "<44@x>", "Re: topic", "<3@x>", "<6@x>"),
			msg(7, "<7@x>", "Re: topic", "<3@x>", "<6@x>", "<44@x>"),
			msg(96, "<96@x>", "Re: topic", "<3@x>", "<6@x>", "<44@x>", "<7@x>"),
		},
		want: "(2)(3 6 (4 23)(44 7 96))",
	}, {
		// Two replies to a message not in the set: a dummy at the top
		// keeps them together (RFC 5256 §4, "((3)(5))").
		name: "dummy parent",
		msgs: []Message{
			msg(3, "<3@x>", "Re: x", "<gone@x>"),
			msg(5, "<5@x>", "Re: x", "<gone@x>"),
		},
		want: "((3)(5))",
	}, {
		name: "dummy with one child is promoted to the top",
		msgs: []Message{msg(3, "<3@x>", "Re: x", "<gone@x>")},
		want: "(3)",
	}, {
		name: "dummy inside a thread is replaced by its children",
		msgs: []Message{
			msg(1, "<1@x>", "a"),
			msg(3, "<3@x>", "b", "<1@x>", "<gone@x>"),
		},
		want: "(1 3)",
	}, {
		name: "In-Reply-To when there is no References",
		msgs: []Message{
			msg(1, "<1@x>", "a"),
			{Num: 2, Date: t0.Add(2 * time.Minute), Subject: "b", MessageID: "<2@x>", InReplyTo: []string{"<1@x>", "<9@x>"}},
		},
		want: "(1 2)",
	}, {
		name: "References wins over In-Reply-To",
		msgs: []Message{
			msg(1, "<1@x>", "a"),
			msg(2, "<2@x>", "b"),
			{Num: 3, Date: t0.Add(3 * time.Minute), Subject: "c", MessageID: "<3@x>", InReplyTo: []string{"<1@x>"}, References: []string{"<2@x>"}},
		},
		want: "(1)(2 3)",
	}, {
		// RFC 5256 §3 step 1A: the first of several messages with one
		// Message-ID keeps it; the others get unique ones.
		name: "duplicate Message-ID",
		msgs: []Message{
			msg(1, "<a@x>", "one"),
			msg(2, "<a@x>", "two"),
			msg(3, "<3@x>", "three", "<a@x>"),
		},
		want: "(1 3)(2)",
	}, {
		name: "missing and invalid Message-IDs",
		msgs: []Message{
			msg(1, "", "one"),
			msg(2, "<>", "two"),
			msg(3, " ", "three", "<>"),
		},
		want: "(1)(2)(3)",
	}, {
		name: "Message-IDs compare case-sensitively",
		msgs: []Message{
			msg(1, "<A@x>", "one"),
			msg(2, "<2@x>", "two", "<a@x>"),
		},
		want: "(1)(2)",
	}, {
		name: "Message-IDs with and without brackets are the same",
		msgs: []Message{
			msg(1, "a@x", "one"),
			msg(2, "<2@x>", "two", " <a@x> "),
		},
		want: "(1 2)",
	}, {
		// RFC 5256 §3: "MUST be interpreted as being the same Message ID"
		name: "quoting in Message-IDs is normalized",
		msgs: []Message{
			msg(1, `<"01KF8JCEOCBS0045PS"@xxx.yyy.com>`, "one"),
			msg(2, "<2@x>", "two", "<01KF8JCEOCBS0045PS@xxx.yyy.com>"),
		},
		want: "(1 2)",
	}, {
		name: "two messages referencing each other",
		msgs: []Message{
			msg(1, "<a@x>", "one", "<b@x>"),
			msg(2, "<b@x>", "two", "<a@x>"),
		},
		want: "(2 1)",
	}, {
		name: "a message referencing itself",
		msgs: []Message{msg(1, "<a@x>", "one", "<a@x>"), msg(2, "<b@x>", "two", "<b@x>", "<b@x>")},
		want: "(1)(2)",
	}, {
		name: "a loop within References",
		msgs: []Message{
			msg(1, "<a@x>", "one"),
			msg(2, "<b@x>", "two", "<a@x>", "<b@x>", "<a@x>", "<b@x>"),
		},
		want: "(1)(2)",
	}, {
		// Step 1B: another message's (truncated) References made q the
		// parent of m; m's own References say p.
		name: "own References replace a link from another message",
		msgs: []Message{
			msg(1, "<p@x>", "p"),
			msg(2, "<e@x>", "e", "<q@x>", "<m@x>"),
			msg(3, "<q@x>", "q"),
			msg(5, "<m@x>", "m", "<p@x>"),
		},
		want: "(1 5 2)(3)",
	}, {
		// Step 5: a reply without references goes under the original.
		name: "subject: reply under the original",
		msgs: []Message{msg(1, "<1@x>", "foo"), msg(2, "<2@x>", "Re: foo")},
		want: "(1 2)",
	}, {
		name: "subject: the original is found even when later",
		msgs: []Message{msg(1, "<1@x>", "Re: foo"), msg(2, "<2@x>", "FOO")},
		want: "(2 1)",
	}, {
		name: "subject: two originals under a new dummy",
		msgs: []Message{msg(1, "<1@x>", "foo"), msg(2, "<2@x>", "foo"), msg(3, "<3@x>", "bar")},
		want: "((1)(2))(3)",
	}, {
		name: "subject: two replies under a new dummy",
		msgs: []Message{msg(1, "<1@x>", "Re: foo"), msg(2, "<2@x>", "Fwd: foo")},
		want: "((1)(2))",
	}, {
		name: "subject: a thread joins a dummy's",
		msgs: []Message{
			msg(1, "<1@x>", "Re: foo", "<gone@x>"),
			msg(2, "<2@x>", "Re: foo", "<gone@x>"),
			msg(3, "<3@x>", "foo"),
			msg(4, "<4@x>", "Re: foo", "<3@x>"),
		},
		want: "((1)(2)(3 4))",
	}, {
		name: "subject: two dummies merge",
		msgs: []Message{
			msg(1, "<1@x>", "Re: foo", "<gone1@x>"),
			msg(2, "<2@x>", "Re: foo", "<gone1@x>"),
			msg(3, "<3@x>", "Re: foo", "<gone2@x>"),
			msg(4, "<4@x>", "Re: foo", "<gone2@x>"),
		},
		want: "((1)(2)(3)(4))",
	}, {
		name: "subject: empty base subjects are not gathered",
		msgs: []Message{msg(1, "<1@x>", ""), msg(2, "<2@x>", "Re:")},
		want: "(1)(2)",
	}, {
		name: "siblings by sent date, not number; Date missing means arrival",
		msgs: []Message{
			msg(1, "<1@x>", "a"),
			{Num: 2, Date: t0.Add(50 * time.Minute), Subject: "b", MessageID: "<2@x>", References: []string{"<1@x>"}},
			{Num: 3, Arrival: t0.Add(40 * time.Minute), Subject: "c", MessageID: "<3@x>", References: []string{"<1@x>"}},
			{Num: 4, Date: t0.Add(40 * time.Minute), Subject: "d", MessageID: "<4@x>", References: []string{"<1@x>"}},
		},
		want: "(1 (3)(4)(2))",
	}}
	for _, tt := range tests {
		got := Thread(tt.msgs, References)
		if s := Format(got); s != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, s, tt.want)
		}
		checkTree(t, tt.msgs, got)
	}
}

func TestThreadOrderedSubject(t *testing.T) {
	t.Parallel()
	at := func(num uint32, subject string, minute int) Message {
		return Message{Num: num, Subject: subject, Date: t0.Add(time.Duration(minute) * time.Minute)}
	}
	msgs := []Message{
		at(1, "b", 1),
		at(2, "Re: a", 5),
		at(3, "a", 2),
		at(4, "RE: B", 3),
		at(5, "c", 4),
		at(6, "[fwd: a]", 6),
		{Num: 7, Subject: "Re: c", Arrival: t0.Add(7 * time.Minute)}, // no Date: arrival
		at(8, "", 0),
		at(9, "", 0),
	}
	got := Thread(msgs, OrderedSubject)
	// (8 9): same empty subject and date, so by number; earliest thread.
	want := "(8 9)(1 4)(3 (2)(6))(5 7)"
	if s := Format(got); s != want {
		t.Errorf("got %s, want %s", s, want)
	}
	seen := map[uint32]bool{}
	for _, n := range got {
		seen[n.Num] = true
		for _, c := range n.Children {
			seen[c.Num] = true
			if len(c.Children) != 0 {
				t.Errorf("ORDEREDSUBJECT has no grandchildren: %d", c.Num)
			}
		}
	}
	if len(seen) != len(msgs) {
		t.Errorf("%d of %d messages in the tree", len(seen), len(msgs))
	}
}

func TestParseAlgorithm(t *testing.T) {
	t.Parallel()
	if a, ok := ParseAlgorithm("references"); !ok || a != References {
		t.Errorf("references: %v %v", a, ok)
	}
	if a, ok := ParseAlgorithm("OrderedSubject"); !ok || a != OrderedSubject {
		t.Errorf("orderedsubject: %v %v", a, ok)
	}
	if _, ok := ParseAlgorithm("REFS"); ok {
		t.Error("REFS accepted")
	}
	if Thread([]Message{msg(1, "", "")}, "REFS") != nil {
		t.Error("unknown algorithm threaded")
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	n := func(num uint32, kids ...*Node) *Node { return &Node{Num: num, Children: kids} }
	tests := []struct {
		in   []*Node
		want string
	}{
		{nil, ""},
		{[]*Node{n(1)}, "(1)"},
		{[]*Node{n(1, n(2, n(3)))}, "(1 2 3)"},
		{[]*Node{n(0, n(3), n(5))}, "((3)(5))"},
		{[]*Node{n(0, n(3, n(4)), n(5))}, "((3 4)(5))"},
		{[]*Node{n(1, n(0, n(2), n(3)))}, "(1 (2)(3))"}, // a lone nested dummy: thread-nested needs two lists
		{[]*Node{n(0, n(7))}, "(7)"},
		{[]*Node{n(0), n(1)}, "(1)"},
	}
	for _, tt := range tests {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
}

func TestThreadLongReferences(t *testing.T) {
	t.Parallel()
	refs := make([]string, 10_000)
	for i := range refs {
		refs[i] = fmt.Sprintf("<r%d@x>", i)
	}
	msgs := []Message{
		msg(1, "<r0@x>", "a"),
		msg(2, "<r9999@x>", "b"),
		msg(3, "<3@x>", "c", refs...),
	}
	// The first and the last MaxReferences-1 are kept: 1 -> 2 -> 3 with
	// the dummies between them pruned.
	if got := Format(Thread(msgs, References)); got != "(1 2 3)" {
		t.Errorf("got %s", got)
	}
	th := newThreader(msgs)
	if n := len(th.references(&msgs[2])); n != MaxReferences {
		t.Errorf("%d references kept", n)
	}
}

// TestThreadLoopBudget builds the mailbox that makes loop checks
// expensive: a chain as deep as half the mailbox, then messages whose
// References alternate between the chain's end and its start, so that
// every other link asks whether the start descends from the end. The
// checks run out of budget, links are refused, and the result is still
// a tree holding every message once.
func TestThreadLoopBudget(t *testing.T) {
	t.Parallel()
	const depth, attackers = 5000, 5000
	var msgs []Message
	for i := range depth {
		m := msg(uint32(i+1), fmt.Sprintf("<c%d@x>", i), "chain")
		if i > 0 {
			m.References = []string{fmt.Sprintf("<c%d@x>", i-1)}
		}
		msgs = append(msgs, m)
	}
	last, first := fmt.Sprintf("<c%d@x>", depth-1), "<c0@x>"
	for i := range attackers {
		var refs []string
		for range MaxReferences / 2 {
			refs = append(refs, last, first)
		}
		msgs = append(msgs, msg(uint32(depth+i+1), fmt.Sprintf("<a%d@x>", i), "attack", refs...))
	}
	th := newThreader(msgs)
	got := th.run()
	// Without the budget this mailbox takes about 160 million steps.
	if th.steps != th.budget {
		t.Errorf("%d steps walked, budget %d: the budget is not reached, or exceeded", th.steps, th.budget)
	}
	checkTree(t, msgs, got)
}

// TestThreadNoBudgetNeeded checks that an ordinary large mailbox is
// threaded exactly: the loop checks stay within their budget.
func TestThreadNoBudgetNeeded(t *testing.T) {
	t.Parallel()
	msgs := genMailbox(10_000, 1)
	th := newThreader(msgs)
	got := th.run()
	if th.steps >= th.budget {
		t.Errorf("loop-check budget ran out on an ordinary mailbox (%d steps)", th.steps)
	}
	checkTree(t, msgs, got)
}

// genMailbox makes n messages in threads of 1 to 30 messages, each reply
// to a random earlier message of its thread with the References a client
// writes, some with no Message-ID, some with a missing parent, subjects
// with "Re:", and dates slightly out of arrival order.
func genMailbox(n int, seed uint64) []Message {
	r := rand.New(rand.NewPCG(seed, seed))
	msgs := make([]Message, 0, n)
	type thread struct {
		topic string
		refs  [][]string // per message: its References + own ID
	}
	var open []*thread
	for i := range n {
		num := uint32(i + 1)
		m := Message{
			Num:     num,
			Arrival: t0.Add(time.Duration(i) * time.Minute),
			Date:    t0.Add(time.Duration(i)*time.Minute - time.Duration(r.IntN(120))*time.Minute),
			Size:    int64(500 + r.IntN(50_000)),
			From:    []Address{{Name: fmt.Sprintf("User %d", r.IntN(50)), Mailbox: fmt.Sprintf("u%d", r.IntN(50)), Host: "example.org"}},
		}
		id := fmt.Sprintf("<%d.%d@example.org>", i, r.Uint32())
		if r.IntN(50) != 0 {
			m.MessageID = id
		}
		if len(open) == 0 || r.IntN(4) == 0 {
			th := &thread{topic: fmt.Sprintf("topic %d", i)}
			m.Subject = th.topic
			th.refs = append(th.refs, []string{id})
			open = append(open, th)
			if len(open) > 200 {
				open = open[1:]
			}
		} else {
			th := open[r.IntN(len(open))]
			parent := th.refs[r.IntN(len(th.refs))]
			m.References = parent
			if r.IntN(30) == 0 && len(parent) > 1 {
				m.References = parent[1:] // the thread's start is missing
			}
			m.InReplyTo = parent[len(parent)-1:]
			m.Subject = "Re: " + th.topic
			own := append(append([]string(nil), parent...), id)
			if len(th.refs) < 30 {
				th.refs = append(th.refs, own)
			}
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func BenchmarkThread10k(b *testing.B) {
	msgs := genMailbox(10_000, 1)
	b.Run("REFERENCES", func(b *testing.B) {
		for b.Loop() {
			Thread(msgs, References)
		}
	})
	b.Run("ORDEREDSUBJECT", func(b *testing.B) {
		for b.Loop() {
			Thread(msgs, OrderedSubject)
		}
	})
}

func BenchmarkSort10k(b *testing.B) {
	msgs := genMailbox(10_000, 1)
	for _, c := range [][]Criterion{{{Key: Date}}, {{Key: Subject}}, {{Key: From, Reverse: true}, {Key: Size}}} {
		var names []string
		for _, k := range c {
			names = append(names, k.Key.String())
		}
		b.Run(strings.Join(names, "+"), func(b *testing.B) {
			for b.Loop() {
				Sort(msgs, c)
			}
		})
	}
}
