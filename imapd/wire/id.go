package wire

import (
	"slices"
	"strings"
)

// Limits of RFC 2971 §3.3.
const (
	idMaxPairs = 30
	idMaxField = 30
	idMaxValue = 1024
)

// ReadID reads the argument of ID from the SP after the command name up
// to, not including, the CRLF (RFC 2971 §4):
//
//	SP ( "(" [string SP nstring *(SP string SP nstring)] ")" / NIL )
//
// It returns nil for NIL, else a map from the lower-cased field name
// (fields are not case-sensitive) to its value; a field whose value is
// NIL is left out. More than 30 pairs, a field over 30 octets, a value
// over 1024 octets or a field given twice is a *SyntaxError (RFC 2971
// §3.3: the client MUST NOT send them).
func (r *Reader) ReadID() (map[string]string, error) {
	if err := r.ReadSP(); err != nil {
		return nil, err
	}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c != '(' {
		_, ok, err := r.ReadNString()
		if err != nil {
			return nil, err
		}
		if ok {
			return nil, syntaxErr("expected ( or NIL")
		}
		return nil, nil
	}
	params := map[string]string{}
	seen := map[string]bool{}
	err = r.ReadList(func() error {
		if len(seen) == idMaxPairs {
			return syntaxErr("more than %d ID fields", idMaxPairs)
		}
		f, err := r.ReadString()
		if err != nil {
			return err
		}
		if len(f) > idMaxField {
			return syntaxErr("ID field longer than %d octets", idMaxField)
		}
		f = strings.ToLower(f)
		if seen[f] {
			return syntaxErr("ID field %q twice", f)
		}
		seen[f] = true
		if err := r.ReadSP(); err != nil {
			return err
		}
		v, ok, err := r.ReadNString()
		if err != nil {
			return err
		}
		if len(v) > idMaxValue {
			return syntaxErr("ID value longer than %d octets", idMaxValue)
		}
		if ok {
			params[f] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return params, nil
}

// ID writes the ID response (RFC 2971 §3.2): "* ID NIL" for a nil map,
// else the fields sorted by name with their values as strings.
func (w *Writer) ID(params map[string]string) *Writer {
	w.Untagged().Atom("ID").SP()
	if params == nil {
		return w.NIL().CRLF()
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.BeginList()
	for i, k := range keys {
		if i > 0 {
			w.SP()
		}
		w.String(k).SP().String(params[k])
	}
	return w.EndList().CRLF()
}
