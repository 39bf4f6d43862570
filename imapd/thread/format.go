package thread

import "strconv"

// AppendFormat appends threads in the syntax of a THREAD response's data
// (RFC 5256 §4, thread-list): "(2)(3 6 (4 23)(44 7 96))". A node with one
// child continues its thread-members; several children are a
// thread-nested of one thread-list each; a dummy shows only its children
// ("((3)(5))"). A dummy without children is left out.
func AppendFormat(b []byte, threads []*Node) []byte {
	for _, n := range threads {
		if n.Num == 0 && len(n.Children) == 0 {
			continue
		}
		b = append(b, '(')
		b = appendMembers(b, n)
		b = append(b, ')')
	}
	return b
}

// Format returns AppendFormat's text.
func Format(threads []*Node) string { return string(AppendFormat(nil, threads)) }

func appendMembers(b []byte, n *Node) []byte {
	first := true
	for {
		if n.Num != 0 {
			if !first {
				b = append(b, ' ')
			}
			b = strconv.AppendUint(b, uint64(n.Num), 10)
			first = false
		}
		if len(n.Children) != 1 {
			break
		}
		n = n.Children[0]
	}
	if len(n.Children) == 0 {
		return b
	}
	if !first {
		b = append(b, ' ')
	}
	return AppendFormat(b, n.Children)
}
