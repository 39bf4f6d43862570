package thread

import (
	"cmp"
	"slices"
	"strings"
)

// Algorithm is a THREAD algorithm name (RFC 5256 §3).
type Algorithm string

const (
	OrderedSubject Algorithm = "ORDEREDSUBJECT"
	References     Algorithm = "REFERENCES"
)

// ParseAlgorithm returns the Algorithm named by a THREAD command's atom
// (any case), and false for an algorithm this package does not know
// (the server answers BAD).
func ParseAlgorithm(name string) (Algorithm, bool) {
	for _, a := range []Algorithm{OrderedSubject, References} {
		if strings.EqualFold(string(a), name) {
			return a, true
		}
	}
	return "", false
}

// Node is one message of a thread tree. Num 0 is a placeholder for a
// message that is not among those threaded (a dummy, RFC 5256 §3): it has
// at least one child, and with REFERENCES it appears only at the top.
type Node struct {
	Num      uint32
	Children []*Node
}

// MaxReferences is the most msg-ids of one message's References that
// REFERENCES threading uses: its first and its last MaxReferences-1.
const MaxReferences = 128

// Thread returns the threads of msgs by the algorithm, in the order the
// THREAD response lists them, children in the order of their sent dates
// (RFC 5256 §3). It returns nil for an unknown algorithm.
func Thread(msgs []Message, algo Algorithm) []*Node {
	switch algo {
	case OrderedSubject:
		return orderedSubject(msgs)
	case References:
		return newThreader(msgs).run()
	}
	return nil
}

// orderedSubject is THREAD=ORDEREDSUBJECT (RFC 5256 §3): messages sorted
// by base subject, then sent date; each run with one base subject is a
// thread whose first message is the root and the others its children;
// threads ordered by the sent date of their first message.
func orderedSubject(msgs []Message) []*Node {
	type entry struct {
		m    *Message
		subj string
	}
	es := make([]entry, len(msgs))
	for i := range msgs {
		es[i] = entry{&msgs[i], casemap(BaseSubject(msgs[i].Subject))}
	}
	slices.SortFunc(es, func(a, b entry) int {
		if r := strings.Compare(a.subj, b.subj); r != 0 {
			return r
		}
		return compareSent(a.m, b.m)
	})
	var roots []*Node
	var heads []*Message
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[j].subj == es[i].subj {
			j++
		}
		root := &Node{Num: es[i].m.Num}
		if j > i+1 {
			root.Children = make([]*Node, 0, j-i-1)
			for _, e := range es[i+1 : j] {
				root.Children = append(root.Children, &Node{Num: e.m.Num})
			}
		}
		roots = append(roots, root)
		heads = append(heads, es[i].m)
		i = j
	}
	order := make([]int, len(roots))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return compareSent(heads[a], heads[b]) })
	out := make([]*Node, len(roots))
	for i, k := range order {
		out[i] = roots[k]
	}
	return out
}

// compareSent orders two messages by sent date, then by Num (RFC 5256
// §2.2).
func compareSent(a, b *Message) int {
	if r := a.sentDate().Compare(b.sentDate()); r != 0 {
		return r
	}
	return cmp.Compare(a.Num, b.Num)
}
