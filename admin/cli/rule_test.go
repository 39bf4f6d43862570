package cli

import (
	"strings"
	"testing"

	"yubin/storage"
)

func TestRuleCompile(t *testing.T) {
	r := ruleSpec{from: []string{`bo"ss@x.test`}, subject: []string{"weekly"}, fileinto: "Boss", flag: true}
	rule, exts, err := r.compile()
	if err != nil {
		t.Fatal(err)
	}
	want := `if allof (address :contains "from" "bo\"ss@x.test", header :contains "subject" "weekly") { addflag ["\\Flagged"]; fileinto "Boss"; }` + "\n"
	if rule != want {
		t.Fatalf("rule = %q\nwant %q", rule, want)
	}
	script, err := appendRule("", rule, exts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(script, `require ["imap4flags", "fileinto"];`) {
		t.Fatalf("script = %q", script)
	}
	// A second rule adds no duplicate require for fileinto.
	rule2, exts2, err := ruleSpec{headers: []string{"X-Tag: a b"}, fileinto: "Tagged", stop: true}.compile()
	if err != nil {
		t.Fatal(err)
	}
	script2, err := appendRule(script, rule2, exts2)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(script2, "require") != 1 || !strings.HasSuffix(script2, `if header :contains "X-Tag" "a b" { fileinto "Tagged"; stop; }`+"\n") {
		t.Fatalf("script2 = %q", script2)
	}
	if _, err := storage.ParseSieve(script2); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []ruleSpec{{fileinto: "x"}, {from: []string{"a"}}, {from: []string{"a"}, discard: true, flag: true}, {headers: []string{"novalue"}, discard: true}} {
		if _, _, err := bad.compile(); err == nil {
			t.Errorf("%+v compiled", bad)
		}
	}
}
