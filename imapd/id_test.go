package imapd

import (
	"slices"
	"testing"
)

// TestID: ID answers the server's name in any state and logs the
// client's fields; a malformed list is BAD and the session goes on.
func TestID(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.dialWire(t)
	want := []string{`* ID ("name" "Yubin" "vendor" "Yubin")`}
	if u := c.must(`ID ("name" "Thunderbird" "version" "128.0")`, "OK"); !slices.Equal(u, want) {
		t.Errorf("ID: %q", u)
	}
	ts.logs.wait(t, "client id", "name=Thunderbird", "version=128.0")
	if u := c.must(`ID NIL`, "OK"); !slices.Equal(u, want) {
		t.Errorf("ID NIL: %q", u)
	}
	c.must(`ID ("name")`, "BAD")
	c.must("LOGIN "+testUser+" "+testPassword, "OK")
	if u := c.must(`NAMESPACE`, "OK"); !slices.Equal(u, []string{`* NAMESPACE (("" "/")) NIL NIL`}) {
		t.Errorf("NAMESPACE: %q", u)
	}
}
