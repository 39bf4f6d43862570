package thread

import (
	"slices"
	"testing"
	"time"
)

func TestSort(t *testing.T) {
	t.Parallel()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	addr := func(name, mailbox, host string) []Address { return []Address{{name, mailbox, host}} }
	msgs := []Message{
		{Num: 1, Arrival: at(5), Date: at(1), Size: 300, Subject: "Re: beta",
			From: addr("Zed", "zed", "x"), To: addr("", "bob", "x"), Cc: addr("", "Carl", "x")},
		{Num: 2, Arrival: at(1), Size: 100, Subject: "alpha", // no Date: sent date is arrival
			From: addr("=?utf-8?q?=C3=89mile?=", "Amy", "x"), To: addr("Al", "al", "x")},
		{Num: 3, Arrival: at(3), Date: at(3), Size: 300, Subject: "[fwd: Alpha]",
			From: addr("", "bob", "x"), To: []Address{{"", "team", ""}, {"", "ann", "x"}}, Cc: addr("", "alice", "x")},
		{Num: 4, Arrival: at(2), Date: at(3), Size: 200, Subject: "BETA",
			From: []Address{{"Bob", "BOB", "y"}, {"", "aaa", "x"}}},
	}
	tests := []struct {
		name     string
		criteria []Criterion
		want     []uint32
	}{
		{"ARRIVAL", []Criterion{{Key: Arrival}}, []uint32{2, 4, 3, 1}},
		{"REVERSE ARRIVAL", []Criterion{{Key: Arrival, Reverse: true}}, []uint32{1, 3, 4, 2}},
		// 2 has no Date: its arrival (minute 1) ties with 1's Date; 3 and 4
		// tie and go by number.
		{"DATE", []Criterion{{Key: Date}}, []uint32{1, 2, 3, 4}},
		// REVERSE reverses the criterion, not the tie-break by number
		{"REVERSE DATE", []Criterion{{Key: Date, Reverse: true}}, []uint32{3, 4, 1, 2}},
		{"SIZE", []Criterion{{Key: Size}}, []uint32{2, 4, 1, 3}},
		{"REVERSE SIZE", []Criterion{{Key: Size, Reverse: true}}, []uint32{1, 3, 4, 2}},
		// base subjects alpha, Alpha, beta, BETA: case folded, ties by number
		{"SUBJECT", []Criterion{{Key: Subject}}, []uint32{2, 3, 1, 4}},
		{"SUBJECT REVERSE DATE", []Criterion{{Key: Subject}, {Key: Date, Reverse: true}}, []uint32{3, 2, 4, 1}},
		// addr-mailbox of the first address: Amy, bob, BOB, zed
		{"FROM", []Criterion{{Key: From}}, []uint32{2, 3, 4, 1}},
		// empty (no To) first; a group's name ("team") is its mailbox
		{"TO", []Criterion{{Key: To}}, []uint32{4, 2, 1, 3}},
		{"CC", []Criterion{{Key: Cc}}, []uint32{2, 4, 3, 1}},
		{"REVERSE CC", []Criterion{{Key: Cc, Reverse: true}}, []uint32{1, 3, 2, 4}},
		// display values: Bob, bob@x (no name), Émile (E and a combining
		// accent under i;unicode-casemap), Zed
		{"DISPLAYFROM", []Criterion{{Key: DisplayFrom}}, []uint32{4, 3, 2, 1}},
		// "" (no To), Al, bob@x, and the group name "team" (first of 3's To)
		{"DISPLAYTO", []Criterion{{Key: DisplayTo}}, []uint32{4, 2, 1, 3}},
		{"SIZE SUBJECT", []Criterion{{Key: Size}, {Key: Subject}}, []uint32{2, 4, 3, 1}},
		{"no criteria", nil, []uint32{1, 2, 3, 4}},
		{"unknown key ignored", []Criterion{{Key: 99}, {Key: Size}}, []uint32{2, 4, 1, 3}},
	}
	for _, tt := range tests {
		if got := Sort(msgs, tt.criteria); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSortTiesByNum(t *testing.T) {
	t.Parallel()
	// Passed in any order, equal messages come out by number, REVERSE or
	// not (RFC 5256 §3: ties are broken by sequence number).
	msgs := []Message{{Num: 9}, {Num: 3}, {Num: 7}, {Num: 1}}
	for _, c := range []Criterion{{Key: Size}, {Key: Size, Reverse: true}, {Key: Subject, Reverse: true}, {Key: DisplayTo}} {
		if got := Sort(msgs, []Criterion{c}); !slices.Equal(got, []uint32{1, 3, 7, 9}) {
			t.Errorf("%v: got %v", c, got)
		}
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	for k := Arrival; k <= DisplayTo; k++ {
		got, ok := ParseKey(k.String())
		if !ok || got != k {
			t.Errorf("ParseKey(%q) = %v, %v", k.String(), got, ok)
		}
	}
	if k, ok := ParseKey("displayFrom"); !ok || k != DisplayFrom {
		t.Errorf("lower case: %v %v", k, ok)
	}
	for _, s := range []string{"REVERSE", "", "SUBJ"} {
		if _, ok := ParseKey(s); ok {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}

func TestCasemap(t *testing.T) {
	t.Parallel()
	// RFC 5051: titlecase, then canonical decomposition, then octets.
	equal := [][2]string{
		{"abc", "ABC"},
		{"émile", "ÉMILE"},
		{"Émile", "E\u0301mile"}, // precomposed and decomposed
		{"σ", "Σ"},
		{"ǆ", "ǅ"}, // dz digraph: titlecase, not upper case
	}
	for _, p := range equal {
		if casemap(p[0]) != casemap(p[1]) {
			t.Errorf("%q and %q differ: %q %q", p[0], p[1], casemap(p[0]), casemap(p[1]))
		}
	}
	// An accented letter sorts with its base letter, not after Z.
	order := []string{"", "Emile", "émile", "Fred", "zed", "\xff"}
	for i := 1; i < len(order); i++ {
		if !(casemap(order[i-1]) < casemap(order[i])) {
			t.Errorf("%q does not sort before %q", order[i-1], order[i])
		}
	}
}
