package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Load reads the TOML file at path over base: keys the file names replace
// the values in base, keys it leaves out keep them. Decoding is strict: an
// unknown key, a value of the wrong type or a bare integer where a duration
// such as "5m" belongs is an error, and so is a configuration that fails
// [Config.Validate]. Every error names the file and, where it can be known,
// the line: `maild.toml:12: unknown key "smtp.tls_cert"`. When there are
// several problems the error joins them, one per line.
func Load(path string, base Config) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	idx := indexKeys(string(data))
	at := func(line int, msg string) error {
		if line > 0 {
			return fmt.Errorf("%s:%d: %s", path, line, msg)
		}
		return fmt.Errorf("%s: %s", path, msg)
	}

	cfg := base.clone()
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		line, msg := decodeErrorPosition(err, string(data), idx)
		return Config{}, at(line, msg)
	}

	schema := schemaKeys()
	var errs []error

	// Unknown keys: anything not in the schema, compared case-sensitively
	// (the decoder itself would accept "Hostname" for "hostname"). Only the
	// outermost unknown key of a subtree is reported.
	unknown := map[string]bool{}
	for _, k := range append(slices.Clone(md.Keys()), md.Undecoded()...) {
		for i := 1; i <= len(k); i++ {
			name := k[:i].String()
			if _, ok := schema[name]; ok {
				continue
			}
			if !unknown[name] {
				unknown[name] = true
				errs = append(errs, at(idx.line(k[:i]), fmt.Sprintf("unknown key %q", name)))
			}
			break
		}
	}

	// The decoder reads a bare integer as nanoseconds, so that
	// read_timeout = 300 would mean 300ns: refuse it.
	for _, k := range md.Keys() {
		if sk, ok := schema[k.String()]; ok && sk.duration && md.Type(k...) == "Integer" {
			errs = append(errs, at(idx.exact(k), fmt.Sprintf(`%s: want a duration string such as "5m" or "30s", not a bare number`, k)))
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}

	for _, fe := range cfg.validate() {
		errs = append(errs, at(idx.exact(strings.Split(fe.Key, ".")), fe.Error()))
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

// decodeErrorPosition splits an error from toml.Decode into the line it
// happened on (0 if unknown) and a message without the decoder's prefix.
func decodeErrorPosition(err error, text string, idx keyIndex) (int, string) {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.LastKey != "" {
			msg = pe.LastKey + ": " + msg
		}
		line := pe.Position.Line
		// An error at a newline ("[smtp" then end of line) is reported on
		// the next line; count from the byte offset instead.
		if start := pe.Position.Start; start > 0 && start <= len(text) {
			line = 1 + strings.Count(text[:start], "\n")
		}
		return line, msg
	}
	// Type mismatches are plain errors of the form
	// toml: line 7 (last key "smtp.max_recipients"): incompatible types: ...
	m := decodeErrorRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, strings.TrimPrefix(err.Error(), "toml: ")
	}
	key := m[2]
	if k, err := strconv.Unquote(`"` + key + `"`); err == nil {
		key = k
	}
	line, _ := strconv.Atoi(m[1])
	if line == 0 {
		line = idx[key]
	}
	return line, key + ": " + m[3]
}

var decodeErrorRE = regexp.MustCompile(`(?s)^toml: (?:line (\d+) )?\(last key "((?:[^"\\]|\\.)*)"\): (.*)$`)

// schemaKey is one key of the TOML schema.
type schemaKey struct {
	duration bool // decoded into a time.Duration
}

// schemaKeys lists every key of [Config], tables included, by its
// toml.Key.String() form.
func schemaKeys() map[string]schemaKey {
	keys := map[string]schemaKey{}
	var walk func(t reflect.Type, prefix toml.Key)
	walk = func(t reflect.Type, prefix toml.Key) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			k := append(slices.Clone(prefix), name)
			keys[k.String()] = schemaKey{duration: f.Type == reflect.TypeFor[time.Duration]()}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, k)
			}
		}
	}
	walk(reflect.TypeFor[Config](), nil)
	return keys
}

// keyIndex maps each key of a TOML file, in its toml.Key.String() form, to
// the line (from 1) that first defines it. toml.MetaData knows the keys but
// not their lines, so indexKeys finds them by scanning the text: it tracks
// the current [table] header and reads the key before each "=", dotted and
// quoted keys included. Keys inside inline tables are not indexed; lookups
// fall back to the enclosing key.
type keyIndex map[string]int

func indexKeys(text string) keyIndex {
	idx := keyIndex{}
	add := func(k toml.Key, from, line int) {
		for i := from; i <= len(k); i++ {
			if _, ok := idx[k[:i].String()]; !ok {
				idx[k[:i].String()] = line
			}
		}
	}
	var table toml.Key
	closer := "" // the delimiter that ends the open multi-line string, if any
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		if closer != "" {
			if strings.Contains(line, closer) {
				closer = ""
			}
			continue
		}
		s := strings.TrimSpace(line)
		switch {
		case s == "" || s[0] == '#':
		case strings.HasPrefix(s, "[["):
			if k, rest, ok := parseKey(s[2:]); ok && strings.HasPrefix(rest, "]]") {
				table = k
				add(k, 1, n)
			}
		case s[0] == '[':
			if k, rest, ok := parseKey(s[1:]); ok && strings.HasPrefix(rest, "]") {
				table = k
				add(k, 1, n)
			}
		default:
			k, rest, ok := parseKey(s)
			if !ok || !strings.HasPrefix(rest, "=") {
				continue
			}
			add(append(slices.Clone(table), k...), len(table)+1, n)
			value := rest[1:]
			for _, delim := range []string{`"""`, `'''`} {
				if j := strings.Index(value, delim); j >= 0 {
					if !strings.Contains(value[j+3:], delim) {
						closer = delim
					}
					break
				}
			}
		}
	}
	return idx
}

// exact returns the line defining k, or 0 if the file does not name it.
func (idx keyIndex) exact(k toml.Key) int {
	return idx[k.String()]
}

// line returns the line defining k or, failing that, its nearest enclosing
// key; 0 if none is found.
func (idx keyIndex) line(k toml.Key) int {
	for i := len(k); i > 0; i-- {
		if n, ok := idx[k[:i].String()]; ok {
			return n
		}
	}
	return 0
}

// parseKey reads a TOML key, bare, quoted or dotted, from the start of s.
// It returns the key's parts and the rest of s after the key and any
// following blanks.
func parseKey(s string) (toml.Key, string, bool) {
	var k toml.Key
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		switch s[0] {
		case '"':
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, "", false
			}
			part, err := strconv.Unquote(s[:end+1])
			if err != nil {
				part = s[1:end]
			}
			k = append(k, part)
			s = s[end+1:]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, "", false
			}
			k = append(k, s[1:end+1])
			s = s[end+2:]
		default:
			end := 0
			for end < len(s) && isBareKeyByte(s[end]) {
				end++
			}
			if end == 0 {
				return nil, "", false
			}
			k = append(k, s[:end])
			s = s[end:]
		}
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return k, s, true
		}
		s = s[1:]
	}
}

func isBareKeyByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-'
}
