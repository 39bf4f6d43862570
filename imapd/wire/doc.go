// Package wire is the IMAP wire syntax of Yubin's own IMAP layer: a
// command reader and parser and a response writer, written from RFC 9051
// §9 and RFC 3501 §9 (formal syntax), RFC 7888 (LITERAL+, LITERAL-),
// RFC 3516 (BINARY, literal8), RFC 5182 (SEARCHRES "$") and RFC 7162
// (CONDSTORE modifiers). Parse results use go-imap/v2's public types
// (imap.SeqSet, imap.UIDSet, imap.FetchOptions, imap.SearchCriteria,
// imap.StoreFlags, imap.Flag) where they fit.
//
// It is not wired into the server yet: imapd still serves through
// go-imap's imapserver until a server built on this package passes the
// same tests.
//
// # Reading
//
// A Reader reads one command at a time: ReadCommand gives the tag and the
// upper-cased name, then the handler reads each argument with the typed
// readers (ReadSP, ReadAtom, ReadAString, ReadString, ReadNString,
// ReadNumber, ReadDate, ReadDateTime, ReadFlag(List), ReadMailbox,
// ReadNumSet, ReadList, ReadFetchItems, ReadSearch, ReadStore, ...) and
// ends with ReadCRLF. Input that does not match the grammar, or exceeds a
// limit, gives a *SyntaxError (answer BAD, code TOOBIG for limits); any
// other error is an I/O error from the connection (io.EOF between
// commands, io.ErrUnexpectedEOF inside one). After a *SyntaxError,
// Reader.Skip discards the rest of the command, including the data of
// non-synchronising literals announced on it, so the session continues;
// if that cannot be done safely Skip returns a *SyntaxError with Fatal
// set and the connection must be closed.
//
// # Limits (Options)
//
//   - MaxLineLength (64 KiB): bytes on one line, literal data excluded.
//   - MaxLiteralSize (64 KiB): a literal read into memory as an argument.
//     Streamed literals (APPEND) get their own bound in ReadLiteral.
//   - MaxCommandSize (1 MiB): all lines and in-memory literals of one
//     command; also the most Skip discards.
//   - MaxDepth (32): nesting of lists and of search keys (NOT, OR, "(").
//   - LiteralMinus: {n+} only up to 4096 bytes (RFC 7888 §4).
//
// A literal's announced size is checked before anything is sent or
// allocated; its data is read in chunks as it arrives, never allocated up
// front. A synchronising literal {n} is accepted by calling
// Options.Continue (the server sends "+ " and flushes); {n+} is not. A
// literal that never arrives is the caller's deadline's business.
//
// Command grammars: ReadFetchItems (FETCH items, macros,
// BODY[section]<partial>, BINARY[.PEEK|.SIZE], MODSEQ, CHANGEDSINCE/VANISHED),
// ReadSearch (RETURN, CHARSET, all RFC 9051 keys, MODSEQ) and ReadStore
// ([+-]FLAGS[.SILENT], UNCHANGEDSINCE). ReadAppendMessage reads an
// APPEND message's flags, date and literal (MULTIAPPEND by repetition);
// ReadLiteral streams a literal or literal8 without buffering it.
//
// # Writing
//
// A Writer encodes responses into a buffer that goes out on Flush (or at
// once for Continuation). String picks quoted or literal by content,
// AString also atom, Binary literal8 when the data holds NUL; Mailbox
// encodes modified UTF-7 (or UTF-8 after SetUTF8); Status writes OK, NO,
// BAD, PREAUTH and BYE with a response code; Envelope, BodyStructure
// (BODY and BODYSTRUCTURE forms) and ESearch encode those data items
// from go-imap's types. The first write error
// sticks and is returned by Flush and Err.
//
// # Modified UTF-7
//
// DecodeUTF7 is strict: it accepts only the canonical encoding (RFC 3501
// §5.1.3), so Encode(Decode(s)) == s for every accepted s.
//
// # Not done yet
//
// Command-specific grammars beyond FETCH, SEARCH, STORE and APPEND (the
// server reads LIST, STATUS, SELECT, ... from the primitives; CATENATE,
// APPEND's UTF8 data extension, LIST-EXTENDED selection/return options,
// STATUS items and QRESYNC's SELECT
// parameters are not parsed here yet); SORT/THREAD, ACL, METADATA, ID
// arguments; the search keys of extensions (WITHIN's YOUNGER/OLDER, SAVEDATE,
// FUZZY); encoders for LIST, STATUS and FETCH response lines (the Writer
// has the primitives they are built from).
// UNCHANGEDSINCE 0 is refused because imap.StoreOptions cannot tell it
// from absent.
package wire
