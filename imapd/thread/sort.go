package thread

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Key is a sort criterion of RFC 5256 §3 and RFC 5957 §4.
type Key int

const (
	Arrival     Key = iota + 1 // INTERNALDATE
	Cc                         // addr-mailbox of the first Cc address
	Date                       // sent date (RFC 5256 §2.2)
	From                       // addr-mailbox of the first From address
	Size                       // RFC822.SIZE
	Subject                    // base subject (RFC 5256 §2.1)
	To                         // addr-mailbox of the first To address
	DisplayFrom                // display name of the first From address (RFC 5957)
	DisplayTo                  // display name of the first To address (RFC 5957)
)

var keyNames = [...]string{
	Arrival:     "ARRIVAL",
	Cc:          "CC",
	Date:        "DATE",
	From:        "FROM",
	Size:        "SIZE",
	Subject:     "SUBJECT",
	To:          "TO",
	DisplayFrom: "DISPLAYFROM",
	DisplayTo:   "DISPLAYTO",
}

// String returns the key's name in the SORT command.
func (k Key) String() string {
	if k > 0 && int(k) < len(keyNames) {
		return keyNames[k]
	}
	return "Key(?)"
}

// ParseKey returns the Key named by a sort-key atom (any case), and false
// for anything else (REVERSE is a modifier, not a key).
func ParseKey(name string) (Key, bool) {
	for k, n := range keyNames {
		if n != "" && strings.EqualFold(n, name) {
			return Key(k), true
		}
	}
	return 0, false
}

// Criterion is one sort-key of a SORT command: a Key, and REVERSE before
// it.
type Criterion struct {
	Key     Key
	Reverse bool
}

// Sort returns the Nums of msgs in the order the criteria give (RFC 5256
// §3): each criterion in turn decides between two messages that the
// ones before it found equal; REVERSE reverses only its own criterion;
// messages equal under all of them are in ascending Num order. Strings
// collate with i;unicode-casemap; a missing address or header is the empty
// string, which sorts first. Criteria with an unknown Key are ignored.
func Sort(msgs []Message, criteria []Criterion) []uint32 {
	criteria = slices.DeleteFunc(slices.Clone(criteria), func(c Criterion) bool {
		return c.Key <= 0 || int(c.Key) >= len(keyNames)
	})
	// Each message's values for the criteria, computed once: key j of
	// message i is at i*len(criteria)+j of the slice for its type.
	nc := len(criteria)
	var (
		times []time.Time
		sizes []int64
		strs  []string
	)
	for _, c := range criteria {
		switch c.Key {
		case Arrival, Date:
			times = make([]time.Time, len(msgs)*nc)
		case Size:
			sizes = make([]int64, len(msgs)*nc)
		default:
			strs = make([]string, len(msgs)*nc)
		}
	}
	for i := range msgs {
		m := &msgs[i]
		for j, c := range criteria {
			k := i*nc + j
			switch c.Key {
			case Arrival:
				times[k] = m.Arrival
			case Date:
				times[k] = m.sentDate()
			case Size:
				sizes[k] = m.Size
			case Subject:
				strs[k] = casemap(BaseSubject(m.Subject))
			case From:
				strs[k] = casemap(firstMailbox(m.From))
			case To:
				strs[k] = casemap(firstMailbox(m.To))
			case Cc:
				strs[k] = casemap(firstMailbox(m.Cc))
			case DisplayFrom:
				strs[k] = casemap(displayValue(m.From))
			case DisplayTo:
				strs[k] = casemap(displayValue(m.To))
			}
		}
	}
	order := make([]int32, len(msgs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		ka, kb := int(a)*nc, int(b)*nc
		for j, c := range criteria {
			var r int
			switch c.Key {
			case Arrival, Date:
				r = times[ka+j].Compare(times[kb+j])
			case Size:
				r = cmp.Compare(sizes[ka+j], sizes[kb+j])
			default:
				r = strings.Compare(strs[ka+j], strs[kb+j])
			}
			if c.Reverse {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return cmp.Compare(msgs[a].Num, msgs[b].Num)
	})
	out := make([]uint32, len(order))
	for i, k := range order {
		out[i] = msgs[k].Num
	}
	return out
}

// firstMailbox is the addr-mailbox of the first address, the key of
// FROM, TO and CC (RFC 5256 §3).
func firstMailbox(as []Address) string {
	if len(as) == 0 {
		return ""
	}
	return as[0].Mailbox
}

// displayValue is the DISPLAY sort value of the first address (RFC 5957
// §3, §4): its decoded display name if that is not empty, else
// mailbox@host, else the mailbox (a group's name), else "".
func displayValue(as []Address) string {
	if len(as) == 0 {
		return ""
	}
	a := as[0]
	if name := decodeWords(a.Name); name != "" {
		return name
	}
	if a.Mailbox != "" && a.Host != "" {
		return a.Mailbox + "@" + a.Host
	}
	return a.Mailbox
}
