package storage

import (
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string // String() of the result; "" = error expected
		wantErr string // substring of the error
	}{
		{in: "user@example.com", want: "user@example.com"},
		{in: "  User@Example.COM  ", want: "user@example.com"},
		{in: "first.last@example.com.", want: "first.last@example.com"},
		{in: "a+tag@example.com", want: "a+tag@example.com"},
		{in: "!#$%&'*+-/=?^_`{|}~@example.com", want: "!#$%&'*+-/=?^_`{|}~@example.com"},
		{in: `"john doe"@example.com`, want: `"john doe"@example.com`},
		{in: `"john"@example.com`, want: "john@example.com"},
		{in: `"a@b"@example.com`, want: `"a@b"@example.com`},
		{in: `"a\"b"@example.com`, want: `"a\"b"@example.com`},
		{in: "Jürgen@BÜCHER.example", want: "jürgen@xn--bcher-kva.example"},
		{in: "用户@例子.example", want: "用户@xn--fsqu00a.example"},
		{in: "user", wantErr: "missing @"},
		{in: "", wantErr: "empty"},
		{in: "@example.com", wantErr: "empty local part"},
		{in: "user@", wantErr: "empty"},
		{in: ".user@example.com", wantErr: "starts or ends"},
		{in: "user.@example.com", wantErr: "starts or ends"},
		{in: "a..b@example.com", wantErr: `".."`},
		{in: "a b@example.com", wantErr: "quote it"},
		{in: "<a@example.com>", wantErr: "domain"},
		{in: "a@b@example.com", wantErr: "quote it"},
		{in: `"unterminated@example.com`, wantErr: "unterminated"},
		{in: `""@example.com`, wantErr: "empty local part"},
		{in: "a@[127.0.0.1]", wantErr: "IP literal"},
		{in: "a@127.0.0.1", wantErr: "IP address"},
		{in: "a@exa_mple.com", wantErr: "domain"},
		{in: "a@-example.com", wantErr: "domain"},
		{in: strings.Repeat("a", 64) + "@example.com", want: strings.Repeat("a", 64) + "@example.com"},
		{in: strings.Repeat("a", 65) + "@example.com", wantErr: "local part is 65 octets"},
		{in: "a@" + strings.Repeat(strings.Repeat("b", 62)+".", 4) + "c", wantErr: "255 octets"},
		{in: "a\x00b@example.com", wantErr: "quote it"},
		{in: "a\xffb@example.com", wantErr: "invalid UTF-8"},
	}
	for _, tt := range tests {
		got, err := ParseAddress(tt.in)
		if tt.wantErr != "" {
			if err == nil {
				t.Errorf("ParseAddress(%q) = %q, want error containing %q", tt.in, got, tt.wantErr)
			} else if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseAddress(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAddress(%q): %v", tt.in, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("ParseAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseAddressParts(t *testing.T) {
	t.Parallel()
	a, err := ParseAddress(`"John Doe"@Example.com`)
	if err != nil {
		t.Fatal(err)
	}
	if a.Local != "john doe" || a.Domain != "example.com" {
		t.Errorf("got %#v", a)
	}
}

func TestNormalizeDomain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"example.com", "example.com", true},
		{"EXAMPLE.com.", "example.com", true},
		{"BÜCHER.example", "xn--bcher-kva.example", true},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", true},
		{"localhost", "localhost", true},
		{"a-b.c0", "a-b.c0", true},
		{"", "", false},
		{".", "", false},
		{"example..com", "", false},
		{"-a.com", "", false},
		{"a-.com", "", false},
		{"a_b.com", "", false},
		{"a b.com", "", false},
		{"[1.2.3.4]", "", false},
		{"1.2.3.4", "", false},
		{"::1", "", false},
		{strings.Repeat("a", 64) + ".com", "", false},
		{strings.Repeat("a", 63) + ".com", strings.Repeat("a", 63) + ".com", true},
		{strings.Repeat(strings.Repeat("a", 62)+".", 4) + "com", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizeDomain(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want ok=%v", tt.in, got, err, tt.ok)
			continue
		}
		if got != tt.want {
			t.Errorf("NormalizeDomain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidAccountLocal(t *testing.T) {
	t.Parallel()
	good := []string{"a", "john.doe", "John_Doe-1", strings.Repeat("x", 64)}
	bad := []string{"", ".a", "a.", "a..b", "a+b", "a/b", "a b", `a\b`, "jürgen", strings.Repeat("x", 65), "..", "a@b"}
	for _, s := range good {
		if err := ValidAccountLocal(s); err != nil {
			t.Errorf("ValidAccountLocal(%q): %v", s, err)
		}
	}
	for _, s := range bad {
		if err := ValidAccountLocal(s); err == nil {
			t.Errorf("ValidAccountLocal(%q) = nil, want error", s)
		}
	}
	if err := ValidAccountLocal("a+b"); err == nil || !strings.Contains(err.Error(), "plus") {
		t.Errorf("ValidAccountLocal(a+b) = %v, want plus-addressing error", err)
	}
}
