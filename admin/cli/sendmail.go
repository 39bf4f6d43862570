package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os/user"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"yubin/admin/control"
	"yubin/storage"
)

// sendmail's exit statuses (sysexits.h).
const (
	exUsage    = 64 // bad command line
	exDataErr  = 65 // bad message (header syntax)
	exNoUser   = 67 // a recipient was refused
	exSoftware = 70 // maild refused the message for another reason
	exTempFail = 75 // maild is not running or failed temporarily: try later
	exNoPerm   = 77 // no access to the control socket
)

// ExitError carries the process exit status for an error; mailctl's main
// exits with Code (sendmail's sysexits codes). The message has already
// been printed.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// maxHeaderBytes bounds the header block sendmail reads into memory.
const maxHeaderBytes = 1 << 20

// sendmailOptions are the parsed sendmail command line.
type sendmailOptions struct {
	extract    bool   // -t
	ignoreDots bool   // -i, -oi
	from       string // -f, -r
	fromSet    bool
	fullName   string // -F
	noop       bool   // -bi (newaliases): nothing to do
	rcpts      []string
}

const sendmailUsage = `usage: sendmail [-t] [-i] [-f sender] [-F "Full Name"] [--config FILE | --data DIR] [recipient ...]

Reads a message from stdin and hands it to the running maild, which signs
it with DKIM and delivers it to local and remote recipients.

  -t        take recipients from the To:, Cc: and Bcc: headers (and remove Bcc:)
  -i, -oi   a line with a single "." does not end the message
  -f ADDR   envelope sender (default: your user name @ the server's hostname)
  -F NAME   full name for the From: header added when the message has none
  ignored:  -o<option> -v -bm -od<mode> -N -R -V -X -B -L -h -C
Exit status: 0 queued, 64 usage, 65 bad message, 67 recipient refused,
70 refused otherwise, 75 maild not running or temporary failure (try again).
`

func sendmailCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "sendmail [flags] [recipient...]",
		Short: "Send a message read from stdin through the running maild (sendmail compatible)",
		Long: sendmailUsage + `
mailctl behaves the same when it is invoked under the name "sendmail"
(packages link /usr/sbin/sendmail to it), for cron, PHP's mail() and scripts.`,
		// sendmail's flags (-oi, -fADDR, -FName) are not POSIX/GNU style:
		// they are parsed by parseSendmailArgs.
		DisableFlagParsing: true,
		SilenceErrors:      true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSendmail(cmd, g, args)
		},
	}
}

// usageError is a command-line mistake.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// parseSendmailArgs parses sendmail's command line; --config and --data
// set g's fields (cobra does not parse flags for this command).
func parseSendmailArgs(g *globals, args []string) (sendmailOptions, bool, error) {
	var o sendmailOptions
	// value returns an option's argument: attached (-fADDR) or the next one.
	i := 0
	value := func(arg, name string) (string, error) {
		if len(arg) > len(name) {
			return arg[len(name):], nil
		}
		if i+1 >= len(args) {
			return "", usageError{"option " + name + " needs a value"}
		}
		i++
		return args[i], nil
	}
	onlyRcpts := false
	for ; i < len(args); i++ {
		arg := args[i]
		if onlyRcpts || !strings.HasPrefix(arg, "-") || arg == "-" {
			o.rcpts = append(o.rcpts, arg)
			continue
		}
		var err error
		switch {
		case arg == "--":
			onlyRcpts = true
		case arg == "--help":
			return o, true, nil
		case arg == "--config":
			g.configPath, err = value(arg, arg)
		case strings.HasPrefix(arg, "--config="):
			g.configPath = strings.TrimPrefix(arg, "--config=")
		case arg == "--data":
			g.dataDir, err = value(arg, arg)
		case strings.HasPrefix(arg, "--data="):
			g.dataDir = strings.TrimPrefix(arg, "--data=")
		case arg == "-t":
			o.extract = true
		case arg == "-i" || arg == "-oi":
			o.ignoreDots = true
		case strings.HasPrefix(arg, "-f"), strings.HasPrefix(arg, "-r"):
			var v string
			if v, err = value(arg, arg[:2]); err == nil {
				o.from, o.fromSet = v, true
			}
		case strings.HasPrefix(arg, "-F"):
			o.fullName, err = value(arg, "-F")
		case arg == "-bm":
		case arg == "-bi":
			o.noop = true
		case strings.HasPrefix(arg, "-o"), arg == "-v", arg == "-vv", arg == "-U", arg == "-m":
			// -odi, -odb, -oem, -oQ...: delivery is always through maild.
		case slices.Contains([]string{"-N", "-R", "-V", "-X", "-B", "-L", "-h", "-C"}, arg[:2]):
			_, err = value(arg, arg[:2]) // options with a value we ignore
		default:
			err = usageError{fmt.Sprintf("unsupported option %s", arg)}
		}
		if err != nil {
			return o, false, err
		}
	}
	return o, false, nil
}

// runSendmail reads the message, submits it and maps failures to sysexits.
func runSendmail(cmd *cobra.Command, g *globals, args []string) error {
	errOut := cmd.ErrOrStderr()
	fail := func(code int, err error) error {
		fmt.Fprintf(errOut, "sendmail: %v\n", err)
		return &ExitError{Code: code, Err: err}
	}
	o, help, err := parseSendmailArgs(g, args)
	if err != nil {
		fmt.Fprint(errOut, sendmailUsage)
		return fail(exUsage, err)
	}
	if help {
		fmt.Fprint(cmd.OutOrStdout(), sendmailUsage)
		return nil
	}
	if o.noop {
		return nil // newaliases: aliases live in yubin.db, nothing to rebuild
	}
	ctx := cmd.Context()
	// The submit socket, not the control socket: sendmail users may hand
	// over messages and do nothing else.
	path, err := g.submitSocketPath()
	if err != nil {
		return fail(exTempFail, err)
	}
	c := control.Dial(path)
	// Ask maild first: it names the default sender domain, and a stopped
	// maild fails before stdin is read.
	st, err := c.Status(ctx)
	if err != nil {
		return fail(exitCode(err), err)
	}
	from := o.from
	if !o.fromSet {
		from, err = defaultSender(st.Hostname)
		if err != nil {
			return fail(exSoftware, err)
		}
	} else if from, err = normaliseSender(from, st.Hostname); err != nil {
		return fail(exUsage, err)
	}

	var rcpts []string
	for _, arg := range o.rcpts {
		as, err := parseRecipients(arg, st.Hostname)
		if err != nil {
			return fail(exNoUser, err)
		}
		rcpts = appendNew(rcpts, as...)
	}

	br := bufio.NewReaderSize(cmd.InOrStdin(), 64<<10)
	body := &dotReader{br: br, ignoreDots: o.ignoreDots, lineStart: true}
	header, err := readHeader(body)
	if err != nil {
		return fail(exDataErr, err)
	}
	if o.extract {
		var found []string
		if found, header, err = extractRecipients(header, st.Hostname); err != nil {
			return fail(exDataErr, err)
		}
		rcpts = appendNew(rcpts, found...)
	}
	if len(rcpts) == 0 {
		return fail(exUsage, errors.New("no recipients (give them as arguments, or use -t)"))
	}
	if !header.has("From") && from != "" {
		value := from
		if o.fullName != "" {
			value = (&mail.Address{Name: o.fullName, Address: from}).String()
		}
		header.fields = append([]string{"From: " + value + "\r\n"}, header.fields...)
	}
	var msg bytes.Buffer
	for _, f := range header.fields {
		msg.WriteString(f)
	}
	msg.WriteString("\r\n")
	id, err := c.Submit(ctx, from, rcpts, io.MultiReader(&msg, body))
	if err != nil {
		return fail(exitCode(err), err)
	}
	if body.err != nil {
		return fail(exTempFail, fmt.Errorf("reading the message: %w", body.err))
	}
	_ = id // sendmail is silent on success
	return nil
}

// exitCode maps a control error to a sysexits code.
func exitCode(err error) int {
	var ce *control.Error
	switch {
	case errors.Is(err, control.ErrNotRunning):
		return exTempFail
	case errors.As(err, &ce):
		switch {
		case ce.Temporary || ce.Status == 503 || ce.Code/100 == 4:
			return exTempFail
		case strings.HasPrefix(ce.Enhanced, "5.1."):
			return exNoUser
		case strings.HasPrefix(ce.Enhanced, "5.6."):
			return exDataErr
		}
		return exSoftware
	case strings.Contains(err.Error(), "permission denied"):
		return exNoPerm
	case errors.Is(err, context.Canceled):
		return exTempFail
	}
	return exTempFail // the connection broke: nothing was queued
}

// defaultSender is the invoking Unix user at maild's hostname.
func defaultSender(hostname string) (string, error) {
	u, err := user.Current()
	if err != nil {
		return "", fmt.Errorf("default sender: %w (use -f)", err)
	}
	return normaliseSender(u.Username, hostname)
}

// normaliseSender accepts "<>" (the null sender), "addr", "<addr>",
// "Name <addr>", and a bare user name (completed with @hostname).
func normaliseSender(s, hostname string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "<>" || s == "" {
		return "", nil
	}
	as, err := parseRecipients(s, hostname)
	if err != nil || len(as) != 1 {
		return "", fmt.Errorf("bad sender address %q", s)
	}
	return as[0], nil
}

// parseRecipients parses a command-line or header address list; a bare
// name without "@" (cron's "root") gets "@hostname".
func parseRecipients(list, hostname string) ([]string, error) {
	var addrs []string
	if parsed, err := mail.ParseAddressList(list); err == nil {
		for _, a := range parsed {
			addrs = append(addrs, a.Address)
		}
	} else {
		for part := range strings.SplitSeq(list, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if !strings.ContainsAny(part, "@<\"") {
				part += "@" + hostname
			}
			a, err := mail.ParseAddress(part)
			if err != nil {
				return nil, fmt.Errorf("bad recipient address %q: %v", part, err)
			}
			addrs = append(addrs, a.Address)
		}
	}
	var out []string
	for _, a := range addrs {
		norm, err := storage.ParseAddress(a)
		if err != nil {
			return nil, fmt.Errorf("bad recipient address %q: %v", a, err)
		}
		out = append(out, norm.String())
	}
	return out, nil
}

func appendNew(list []string, more ...string) []string {
	for _, a := range more {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// header is a message header as raw fields ("Name: value\r\n" with
// folded continuation lines), in order.
type header struct {
	fields []string
}

func fieldName(f string) string {
	name, _, _ := strings.Cut(f, ":")
	return strings.TrimSpace(name)
}

func (h *header) has(name string) bool {
	for _, f := range h.fields {
		if strings.EqualFold(fieldName(f), name) {
			return true
		}
	}
	return false
}

// readHeader reads the header block from r up to the blank line. A first
// line that is not a header field starts the body (a message without
// header); the blank separator is then added by the caller. Line ends
// become CRLF.
func readHeader(r *dotReader) (header, error) {
	var h header
	size := 0
	for {
		line, err := r.readLine()
		if err != nil && err != io.EOF {
			return h, err
		}
		if len(line) == 0 && err == io.EOF {
			return h, nil
		}
		size += len(line)
		if size > maxHeaderBytes {
			return h, fmt.Errorf("message header exceeds %d bytes", maxHeaderBytes)
		}
		trimmed := strings.TrimRight(string(line), "\r\n")
		switch {
		case trimmed == "":
			return h, nil
		case (trimmed[0] == ' ' || trimmed[0] == '\t') && len(h.fields) > 0:
			h.fields[len(h.fields)-1] += trimmed + "\r\n"
		case isFieldLine(trimmed):
			h.fields = append(h.fields, trimmed+"\r\n")
		default:
			r.unread(line) // no header: this line is the body's first
			return h, nil
		}
		if err == io.EOF {
			return h, nil
		}
	}
}

// isFieldLine reports whether s starts a header field: a name of
// printable characters other than ':' and space, then ':'.
func isFieldLine(s string) bool {
	name, _, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// extractRecipients collects the To:, Cc: and Bcc: addresses (-t) and
// removes the Bcc: fields.
func extractRecipients(h header, hostname string) ([]string, header, error) {
	var rcpts []string
	var kept []string
	for _, f := range h.fields {
		name := fieldName(f)
		if !strings.EqualFold(name, "To") && !strings.EqualFold(name, "Cc") && !strings.EqualFold(name, "Bcc") {
			kept = append(kept, f)
			continue
		}
		_, value, _ := strings.Cut(f, ":")
		value = strings.NewReplacer("\r\n", "", "\n", "").Replace(value)
		if strings.TrimSpace(value) != "" {
			addrs, err := parseRecipients(value, hostname)
			if err != nil {
				return nil, h, fmt.Errorf("%s: header: %v", name, err)
			}
			rcpts = appendNew(rcpts, addrs...)
		}
		if !strings.EqualFold(name, "Bcc") {
			kept = append(kept, f)
		}
	}
	return rcpts, header{fields: kept}, nil
}

// dotReader reads the message from stdin. Unless ignoreDots (-i), a line
// holding a single "." ends the message, as in traditional sendmail.
type dotReader struct {
	br         *bufio.Reader
	ignoreDots bool
	lineStart  bool   // the next byte starts a line
	pending    []byte // bytes owed to Read (an unread line, or the rest of one)
	done       bool
	err        error // a read error other than EOF
}

// readLine returns the next line with its line end, or a part of a very
// long line; io.EOF at the end (possibly with a last unterminated line).
func (d *dotReader) readLine() ([]byte, error) {
	if len(d.pending) > 0 {
		line := d.pending
		d.pending = nil
		return line, nil
	}
	if d.done {
		return nil, io.EOF
	}
	frag, err := d.br.ReadSlice('\n')
	line := append([]byte(nil), frag...)
	atStart := d.lineStart
	d.lineStart = err == nil
	if atStart && !d.ignoreDots {
		if s := string(line); s == ".\n" || s == ".\r\n" || (s == "." && err == io.EOF) {
			d.done = true
			return nil, io.EOF
		}
	}
	switch {
	case err == nil, errors.Is(err, bufio.ErrBufferFull):
		return line, nil
	case errors.Is(err, io.EOF):
		d.done = true
		return line, io.EOF
	default:
		d.done = true
		d.err = err
		return line, err
	}
}

// unread puts a line back for the next readLine or Read.
func (d *dotReader) unread(line []byte) { d.pending = line }

func (d *dotReader) Read(p []byte) (int, error) {
	for len(d.pending) == 0 {
		line, err := d.readLine()
		if len(line) > 0 {
			d.pending = line
			break
		}
		if err != nil {
			return 0, err
		}
	}
	n := copy(p, d.pending)
	d.pending = d.pending[n:]
	return n, nil
}
