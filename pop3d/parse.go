package pop3d

import (
	"errors"
	"strconv"
	"strings"
)

// command is one parsed client command line.
type command struct {
	// Name is the keyword in upper case.
	Name string
	// Args are the space-separated arguments.
	Args []string
	// Rest is the line after the keyword and one space, unsplit: PASS
	// takes it whole because a password may contain spaces (RFC 1939 §7).
	Rest string
}

var (
	errEmptyCommand = errors.New("empty command")
	errBadKeyword   = errors.New("invalid command keyword")
	errBadArgument  = errors.New("invalid argument")
)

// maxKeyword bounds the keyword. RFC 2449 §3: keywords are three or four
// characters; a little room is left for unknown extensions, which get
// "-ERR Unknown command" rather than a syntax error.
const maxKeyword = 8

// maxArgs bounds the number of arguments (no POP3 command takes more
// than two).
const maxArgs = 8

// parseCommand splits a command line (without its line end).
// RFC 1939 §3: a case-insensitive keyword, then arguments separated by
// single spaces. Runs of spaces are tolerated; control characters other
// than tab in the arguments are refused, except that Rest (for PASS)
// keeps everything but NUL, CR and LF.
func parseCommand(line string) (command, error) {
	kw, rest, hasRest := strings.Cut(line, " ")
	if kw == "" {
		if strings.TrimSpace(line) == "" {
			return command{}, errEmptyCommand
		}
		return command{}, errBadKeyword
	}
	if len(kw) > maxKeyword {
		return command{}, errBadKeyword
	}
	for i := 0; i < len(kw); i++ {
		c := kw[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return command{}, errBadKeyword
		}
	}
	cmd := command{Name: strings.ToUpper(kw)}
	if !hasRest {
		return cmd, nil
	}
	if strings.ContainsAny(rest, "\x00\r\n") {
		return command{}, errBadArgument
	}
	cmd.Rest = rest
	if cmd.Name == "PASS" {
		return cmd, nil // the password is Rest; it is not split or checked
	}
	for _, f := range strings.Split(rest, " ") {
		if f == "" {
			continue
		}
		for i := 0; i < len(f); i++ {
			if f[i] < 0x20 && f[i] != '\t' || f[i] == 0x7f {
				return command{}, errBadArgument
			}
		}
		if len(cmd.Args) == maxArgs {
			return command{}, errBadArgument
		}
		cmd.Args = append(cmd.Args, f)
	}
	return cmd, nil
}

// parseNumber parses a decimal message number or line count: digits
// only, no sign, at most 10 digits (RFC 1939 §3: numbers are decimal).
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > 1<<31-1 {
		return 0, false
	}
	return int(n), true
}
