package thread

import (
	"cmp"
	"slices"
)

// THREAD=REFERENCES (RFC 5256 §3), step by step. Containers live in one
// slice and refer to each other by index; a container holds a message or
// is a dummy (msg < 0) standing for a referenced message not threaded.

const none = -1

type container struct {
	msg    int32 // index into msgs; none for a dummy
	parent int32
	// children as a doubly linked list, so step 1B unlinks in O(1)
	first, last, prev, next int32
}

type threader struct {
	msgs []Message
	c    []container
	ids  map[string]int32
	// budget bounds the work of the loop checks (see the package doc);
	// steps counts that work.
	budget, steps int
	// kids replaces the linked lists from step 3 on.
	kids [][]int32
	// base subject and reply flag of each message, computed when needed
	subj    []string
	reply   []bool
	hasSubj []bool
}

func newThreader(msgs []Message) *threader {
	return &threader{
		msgs:   msgs,
		c:      make([]container, 0, len(msgs)+len(msgs)/2),
		ids:    make(map[string]int32, len(msgs)),
		budget: 64*len(msgs) + 1<<16,
	}
}

func (t *threader) add(msg int32) int32 {
	t.c = append(t.c, container{msg: msg, parent: none, first: none, last: none, prev: none, next: none})
	return int32(len(t.c) - 1)
}

// lookup returns the container of a msg-id, a new dummy if no message
// has it.
func (t *threader) lookup(id string) int32 {
	if i, ok := t.ids[id]; ok {
		return i
	}
	i := t.add(none)
	t.ids[id] = i
	return i
}

func (t *threader) run() []*Node {
	// Messages in sequence order: "the first (lowest sequence number)"
	// of several with one Message-ID keeps it.
	order := make([]int32, len(t.msgs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(t.msgs[a].Num, t.msgs[b].Num) })

	own := make([]int32, len(t.msgs)) // message -> its container
	for _, mi := range order {
		ci := t.add(mi)
		own[mi] = ci
		// A message without a valid Message-ID, or with one an earlier
		// message has, gets a unique ID: here, no entry in the map.
		if id := normalizeID(t.msgs[mi].MessageID); id != "" {
			if _, dup := t.ids[id]; !dup {
				t.ids[id] = ci
			}
		}
	}

	// (1) link each message with its parent.
	for _, mi := range order {
		refs := t.references(&t.msgs[mi])
		// (1A) each reference the parent of the next, unless the child
		// already has a parent or the link would make a loop.
		prev := int32(none)
		for _, id := range refs {
			ci := t.lookup(id)
			if prev != none && t.c[ci].parent == none && !t.wouldLoop(prev, ci) {
				t.link(prev, ci)
			}
			prev = ci
		}
		// (1B) the last reference is the message's parent: break any
		// link made from another message's References, then link unless
		// that makes a loop. No references: no parent.
		ci := own[mi]
		if t.c[ci].parent != none {
			t.unlink(ci)
		}
		if prev != none && !t.wouldLoop(prev, ci) {
			t.link(prev, ci)
		}
	}

	// From here on, child lists as slices.
	t.kids = make([][]int32, len(t.c))
	var roots []int32
	for i := range t.c {
		ci := int32(i)
		if t.c[ci].parent == none {
			// (2) the root set: containers without a parent.
			roots = append(roots, ci)
		}
		for k := t.c[ci].first; k != none; k = t.c[k].next {
			t.kids[ci] = append(t.kids[ci], k)
		}
	}

	roots = t.prune(roots) // (3)

	// (4) sort the top level by sent date; a dummy by its first child,
	// after sorting its children.
	for _, r := range roots {
		if t.c[r].msg == none {
			t.sortSiblings(t.kids[r])
		}
	}
	t.sortSiblings(roots)

	roots = t.gather(roots) // (5)
	t.sortAll(roots)        // (6)
	return t.nodes(roots)
}

// references returns the msg-ids RFC 5256 §3 calls a message's
// references: those of References if it has valid ones, else the first
// of In-Reply-To, capped to MaxReferences.
func (t *threader) references(m *Message) []string {
	var refs []string
	for _, id := range m.References {
		if id = normalizeID(id); id != "" {
			refs = append(refs, id)
		}
	}
	if len(refs) == 0 {
		for _, id := range m.InReplyTo {
			if id = normalizeID(id); id != "" {
				refs = append(refs, id)
				break
			}
		}
	}
	if len(refs) > MaxReferences {
		refs = append(refs[:1], refs[len(refs)-(MaxReferences-1):]...)
	}
	return refs
}

// wouldLoop reports whether making parent the parent of child would make
// a loop: parent is child or one of its descendants. A child without
// children has no descendants; otherwise the walk up from parent is
// charged to the budget, and when that runs out the link is refused.
func (t *threader) wouldLoop(parent, child int32) bool {
	if parent == child {
		return true
	}
	if t.c[child].first == none {
		return false
	}
	for p := t.c[parent].parent; p != none; p = t.c[p].parent {
		if t.steps >= t.budget {
			return true
		}
		t.steps++
		if p == child {
			return true
		}
	}
	return false
}

func (t *threader) link(parent, child int32) {
	c := &t.c[child]
	c.parent = parent
	c.prev = t.c[parent].last
	c.next = none
	if c.prev == none {
		t.c[parent].first = child
	} else {
		t.c[c.prev].next = child
	}
	t.c[parent].last = child
}

func (t *threader) unlink(child int32) {
	c := &t.c[child]
	p := &t.c[c.parent]
	if c.prev == none {
		p.first = c.next
	} else {
		t.c[c.prev].next = c.next
	}
	if c.next == none {
		p.last = c.prev
	} else {
		t.c[c.next].prev = c.prev
	}
	c.parent, c.prev, c.next = none, none, none
}

// prune is step (3): dummies without children are deleted; a dummy's
// children take its place, except at the top level when there are
// several of them. Children are pruned before their parents (the
// traversal keeps its own stack: a thread can be as deep as the mailbox
// is large).
func (t *threader) prune(roots []int32) []int32 {
	for _, ci := range t.postOrder(roots) {
		t.promote(ci)
	}
	for _, r := range roots {
		t.promote(r)
	}
	var out []int32
	for _, r := range roots {
		if t.isDummy(r) && len(t.kids[r]) < 2 {
			out = append(out, t.kids[r]...)
			t.kids[r] = nil
			continue
		}
		out = append(out, r)
	}
	return out
}

// promote replaces the dummies among ci's children by their children,
// which must have been pruned already.
func (t *threader) promote(ci int32) {
	ks := t.kids[ci]
	if !slices.ContainsFunc(ks, t.isDummy) {
		return
	}
	var out []int32
	for _, k := range ks {
		if t.isDummy(k) {
			out = append(out, t.kids[k]...)
			t.kids[k] = nil
		} else {
			out = append(out, k)
		}
	}
	t.kids[ci] = out
}

func (t *threader) isDummy(ci int32) bool { return t.c[ci].msg == none }

// postOrder lists the containers under roots (roots excluded), each
// after all of its descendants.
func (t *threader) postOrder(roots []int32) []int32 {
	var out []int32
	type frame struct {
		ci   int32
		next int
	}
	var stack []frame
	for _, r := range roots {
		stack = append(stack, frame{r, 0})
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next < len(t.kids[f.ci]) {
				k := t.kids[f.ci][f.next]
				f.next++
				stack = append(stack, frame{k, 0})
				continue
			}
			if len(stack) > 1 {
				out = append(out, f.ci)
			}
			stack = stack[:len(stack)-1]
		}
	}
	return out
}

// sentMsg is the message a container sorts by: its own, or for a dummy
// its first child's.
func (t *threader) sentMsg(ci int32) *Message {
	for t.c[ci].msg == none {
		if len(t.kids[ci]) == 0 {
			return nil
		}
		ci = t.kids[ci][0]
	}
	return &t.msgs[t.c[ci].msg]
}

func (t *threader) sortSiblings(s []int32) {
	slices.SortStableFunc(s, func(a, b int32) int {
		ma, mb := t.sentMsg(a), t.sentMsg(b)
		switch {
		case ma == nil && mb == nil:
			return 0
		case ma == nil:
			return -1
		case mb == nil:
			return 1
		}
		return compareSent(ma, mb)
	})
}

// threadSubject is the base subject of a top-level container (of its
// first child for a dummy) in i;unicode-casemap form, and whether that
// message is a reply or forward.
func (t *threader) threadSubject(ci int32) (string, bool) {
	for t.c[ci].msg == none {
		if len(t.kids[ci]) == 0 {
			return "", false
		}
		ci = t.kids[ci][0]
	}
	mi := t.c[ci].msg
	if t.hasSubj == nil {
		t.subj = make([]string, len(t.msgs))
		t.reply = make([]bool, len(t.msgs))
		t.hasSubj = make([]bool, len(t.msgs))
	}
	if !t.hasSubj[mi] {
		base, reply := ParseSubject(t.msgs[mi].Subject)
		t.subj[mi], t.reply[mi], t.hasSubj[mi] = casemap(base), reply, true
	}
	return t.subj[mi], t.reply[mi]
}

// gather is step (5): top-level threads with the same base subject are
// merged.
func (t *threader) gather(roots []int32) []int32 {
	// (5A, 5B) one top-level container per subject: the first, unless a
	// later one is a dummy, or is not a reply while the one kept is.
	table := make(map[string]int32)
	for _, r := range roots {
		subj, reply := t.threadSubject(r)
		if subj == "" {
			continue
		}
		cur, ok := table[subj]
		if !ok {
			table[subj] = r
			continue
		}
		if !t.isDummy(cur) {
			_, curReply := t.threadSubject(cur)
			if t.isDummy(r) || (curReply && !reply) {
				table[subj] = r
			}
		}
	}
	// (5C) merge each other top-level container into the table's.
	pos := make(map[int32]int, len(roots))
	for i, r := range roots {
		pos[r] = i
	}
	live := slices.Clone(roots) // none once merged away
	snapshot := roots
	for _, r := range snapshot {
		i, ok := pos[r]
		if !ok || live[i] != r {
			continue // no longer at the top
		}
		subj, reply := t.threadSubject(r)
		if subj == "" {
			continue
		}
		tm := table[subj]
		if tm == r {
			continue
		}
		_, tmReply := t.threadSubject(tm)
		switch {
		case t.isDummy(tm) && t.isDummy(r):
			t.kids[tm] = append(t.kids[tm], t.kids[r]...)
			t.kids[r] = nil
			live[i] = none
		case t.isDummy(tm):
			t.kids[tm] = append(t.kids[tm], r)
			live[i] = none
		case reply && !tmReply:
			t.kids[tm] = append(t.kids[tm], r)
			live[i] = none
		default:
			d := t.add(none)
			t.kids = append(t.kids, []int32{tm, r})
			live[pos[tm]] = d
			pos[d] = pos[tm]
			delete(pos, tm)
			table[subj] = d
			live[i] = none
		}
	}
	out := live[:0]
	for _, r := range live {
		if r != none {
			out = append(out, r)
		}
	}
	return out
}

// sortAll is step (6): every set of siblings by sent date, the deepest
// first, the top level last.
func (t *threader) sortAll(roots []int32) {
	for _, ci := range t.postOrder(roots) {
		if len(t.kids[ci]) > 1 {
			t.sortSiblings(t.kids[ci])
		}
	}
	for _, r := range roots {
		if len(t.kids[r]) > 1 {
			t.sortSiblings(t.kids[r])
		}
	}
	t.sortSiblings(roots)
}

// nodes builds the result tree.
func (t *threader) nodes(roots []int32) []*Node {
	num := func(ci int32) uint32 {
		if t.isDummy(ci) {
			return 0
		}
		return t.msgs[t.c[ci].msg].Num
	}
	out := make([]*Node, len(roots))
	type item struct {
		ci int32
		n  *Node
	}
	var stack []item
	for i, r := range roots {
		out[i] = &Node{Num: num(r)}
		stack = append(stack[:0], item{r, out[i]})
		for len(stack) > 0 {
			it := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			ks := t.kids[it.ci]
			if len(ks) == 0 {
				continue
			}
			it.n.Children = make([]*Node, len(ks))
			for j, k := range ks {
				it.n.Children[j] = &Node{Num: num(k)}
				stack = append(stack, item{k, it.n.Children[j]})
			}
		}
	}
	return out
}
