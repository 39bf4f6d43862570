package thread_test

import (
	"fmt"
	"time"

	"yubin/imapd/thread"
)

func ExampleThread() {
	day := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	msgs := []thread.Message{
		{Num: 1, Date: day, Subject: "Lunch?", MessageID: "<a@example.org>"},
		{Num: 2, Date: day.Add(time.Hour), Subject: "Re: Lunch?", MessageID: "<b@example.org>",
			References: thread.ParseMsgIDs("<a@example.org>")},
		{Num: 3, Date: day.Add(2 * time.Hour), Subject: "Report", MessageID: "<c@example.org>"},
		{Num: 4, Date: day.Add(3 * time.Hour), Subject: "RE: lunch?"}, // no References: joined by subject
	}
	fmt.Println("* THREAD " + thread.Format(thread.Thread(msgs, thread.References)))
	fmt.Println("* THREAD " + thread.Format(thread.Thread(msgs, thread.OrderedSubject)))
	// Output:
	// * THREAD (1 (2)(4))(3)
	// * THREAD (1 (2)(4))(3)
}

func ExampleSort() {
	msgs := []thread.Message{
		{Num: 1, Size: 900, Subject: "Re: budget", From: []thread.Address{{Name: "Zoë", Mailbox: "zoe", Host: "example.org"}}},
		{Num: 2, Size: 100, Subject: "agenda", From: []thread.Address{{Mailbox: "bob", Host: "example.org"}}},
		{Num: 3, Size: 500, Subject: "=?utf-8?q?=C3=89t=C3=A9?=", From: []thread.Address{{Name: "Amy", Mailbox: "amy", Host: "example.org"}}},
	}
	fmt.Println(thread.Sort(msgs, []thread.Criterion{{Key: thread.Subject}}))
	fmt.Println(thread.Sort(msgs, []thread.Criterion{{Key: thread.Size, Reverse: true}}))
	fmt.Println(thread.Sort(msgs, []thread.Criterion{{Key: thread.DisplayFrom}}))
	// Output:
	// [2 1 3]
	// [1 3 2]
	// [3 2 1]
}
