package thread

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestFormatParsedByGoIMAP hands THREAD responses written by Format to
// go-imap's client and checks that it reads back the same trees: the
// syntax (thread-nested needs two lists, dummies have no number) is one
// a real client accepts.
func TestFormatParsedByGoIMAP(t *testing.T) {
	t.Parallel()
	cases := []string{}
	for _, algo := range []Algorithm{References, OrderedSubject} {
		cases = append(cases, Format(Thread(genMailbox(2000, 3), algo)))
	}
	n := func(num uint32, kids ...*Node) *Node { return &Node{Num: num, Children: kids} }
	cases = append(cases,
		Format([]*Node{n(2), n(3, n(6, n(4, n(23)), n(44, n(7, n(96)))))}),
		Format([]*Node{n(0, n(3), n(5))}),
		Format([]*Node{n(0, n(3, n(4), n(9)), n(5, n(6)))}),
		Format([]*Node{n(1, n(0, n(2), n(3)))}),
		"",
	)
	for i, text := range cases {
		server, client := net.Pipe()
		go func() {
			defer server.Close()
			fmt.Fprintf(server, "* OK [CAPABILITY IMAP4rev1 THREAD=REFERENCES] ready\r\n")
			br := bufio.NewReader(server)
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			tag, _, _ := strings.Cut(line, " ")
			resp := "* THREAD"
			if text != "" {
				resp += " " + text
			}
			fmt.Fprintf(server, "%s\r\n%s OK done\r\n", resp, tag)
			br.ReadString('\n') // LOGOUT or close
		}()
		c := imapclient.New(client, nil)
		data, err := c.Thread(&imapclient.ThreadOptions{Algorithm: imap.ThreadAlgorithm("REFERENCES"), SearchCriteria: &imap.SearchCriteria{}}).Wait()
		c.Close()
		if err != nil {
			t.Fatalf("case %d: go-imap could not read %.100q: %v", i, text, err)
		}
		if got := formatThreadData(data); got != text {
			t.Errorf("case %d: go-imap read back\n%.200s\nfrom\n%.200s", i, got, text)
		}
	}
}

func formatThreadData(data []imapclient.ThreadData) string {
	var b strings.Builder
	var write func(d imapclient.ThreadData)
	write = func(d imapclient.ThreadData) {
		b.WriteByte('(')
		for i, n := range d.Chain {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatUint(uint64(n), 10))
		}
		if len(d.Chain) > 0 && len(d.SubThreads) > 0 {
			b.WriteByte(' ')
		}
		for _, s := range d.SubThreads {
			write(s)
		}
		b.WriteByte(')')
	}
	for _, d := range data {
		write(d)
	}
	return b.String()
}
