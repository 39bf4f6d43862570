package admin

import "testing"

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"0": 0, "unlimited": 0, "1024": 1024, "1K": 1024, "500M": 500 << 20, "2G": 2 << 30, "2GiB": 2 << 30, "1.5g": 3 << 29, "1T": 1 << 40} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "lots", "1Q", "1e30G"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) succeeded", bad)
		}
	}
}

func TestFormatSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int64
		zero bool
		want string
	}{{0, true, "unlimited"}, {0, false, "0 B"}, {1023, false, "1023 B"}, {1536, false, "1.5 KiB"}, {2 << 30, true, "2.0 GiB"}} {
		if got := FormatSize(tc.n, tc.zero); got != tc.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
