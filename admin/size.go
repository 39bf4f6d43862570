package admin

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSize parses a byte size such as "0", "500M", "2G", "1.5GiB" or
// "1048576". Units are binary (K = 1024). "0" or "unlimited" means no limit.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if t == "UNLIMITED" {
		return 0, nil
	}
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || f < 0 || f*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("invalid size %q (use e.g. 500M, 2G, 0 for unlimited)", s)
	}
	return int64(f * float64(mult)), nil
}

// FormatSize renders n bytes with a binary unit; 0 is "unlimited" when
// zeroUnlimited is set.
func FormatSize(n int64, zeroUnlimited bool) string {
	if n == 0 && zeroUnlimited {
		return "unlimited"
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + units[i]
}
