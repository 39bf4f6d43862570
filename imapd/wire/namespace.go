package wire

import "github.com/emersion/go-imap/v2"

// Namespace writes the NAMESPACE response (RFC 2342 §5, RFC 9051
// §7.3.5): the personal, other users' and shared namespaces, each NIL
// when empty:
//
//	S: * NAMESPACE (("" "/")) NIL (("Shared/" "/"))
//
// Prefixes are written as mailbox names (modified UTF-7 unless UTF-8 is
// on); a zero Delim writes NIL.
func (w *Writer) Namespace(ns *imap.NamespaceData) *Writer {
	if ns == nil {
		ns = &imap.NamespaceData{}
	}
	w.Untagged().Atom("NAMESPACE")
	for _, list := range [][]imap.NamespaceDescriptor{ns.Personal, ns.Other, ns.Shared} {
		w.SP()
		if len(list) == 0 {
			w.NIL()
			continue
		}
		w.BeginList()
		for _, d := range list {
			w.BeginList().listMailbox(d.Prefix).SP()
			if d.Delim == 0 || d.Delim > 0x7f {
				w.NIL()
			} else {
				w.Quoted(string(d.Delim))
			}
			w.EndList()
		}
		w.EndList()
	}
	return w.CRLF()
}
