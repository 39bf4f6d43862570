// Package wire is the IMAP wire syntax of Yubin's own IMAP layer: a
// command reader and parser and a response writer, written from RFC 9051
// §9 and RFC 3501 §9 (formal syntax), RFC 7888 (LITERAL+, LITERAL-),
// RFC 3516 (BINARY, literal8), RFC 5182 (SEARCHRES "$"), RFC 7162
// (CONDSTORE, QRESYNC) and the extensions' RFCs named below. Parse
// results use go-imap/v2's public types (imap.SeqSet, imap.UIDSet,
// imap.FetchOptions, imap.SearchCriteria, imap.StoreFlags, imap.Flag,
// imap.ListOptions, imap.StatusOptions, imap.RightSet) where they fit,
// and small types of this package where they do not (StoreModifiers,
// SelectParams, Sort, Thread, SetACL).
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
// ([+-]FLAGS[.SILENT], UNCHANGEDSINCE, 0 included, in StoreModifiers).
// ReadAppendMessage reads an APPEND message's flags, date and literal
// (MULTIAPPEND by repetition); ReadLiteral streams a literal or literal8
// without buffering it.
//
// Whole-command readers, named Read<Command>Args (ReadSort, ReadThread,
// ReadID), read from the SP after the command name up to, not including,
// the CRLF:
//
//   - ReadListArgs: LIST with LIST-EXTENDED selection and return options,
//     several patterns, SPECIAL-USE and LIST-STATUS (RFC 5258, 6154,
//     5819); RECURSIVEMATCH without SUBSCRIBED and unknown options are
//     BAD. ReadLSubArgs: LSUB.
//   - ReadStatusArgs: STATUS items of RFC 9051, 3501 (RECENT), 7162
//     (HIGHESTMODSEQ), 9208 (DELETED-STORAGE), 7889 (APPENDLIMIT);
//     ReadStatusItems reads the item list alone (also for LIST-STATUS).
//   - ReadSelectArgs: SELECT and EXAMINE with CONDSTORE and QRESYNC
//     (uidvalidity, modseq, known UIDs, seq-match-data checked for "*",
//     order and equal sizes; RFC 7162 §3.2.5); ReadSelectParams reads the
//     optional parameters after the mailbox name.
//   - ReadCreateArgs (USE special-use attributes, RFC 6154), ReadRenameArgs,
//     ReadMailboxArg (DELETE, SUBSCRIBE, GETACL, MYRIGHTS, GETQUOTAROOT),
//     ReadEnableArgs, ReadUIDExpungeArgs, ReadCompressArgs.
//   - ReadSort (SORT with ESORT RETURN options and DISPLAYFROM/DISPLAYTO,
//     RFC 5256, 5267, 5957) and ReadThread; both reuse the SEARCH key
//     parser and its depth limit.
//   - ReadSetACLArgs, ReadDeleteACLArgs, ReadListRightsArgs and
//     ParseRights (RFC 4314: only lrswipkxtea and the obsolete c and d,
//     expanded; anything else is BAD).
//   - ReadGetQuotaArgs, ReadSetQuotaArgs (RFC 9208).
//   - ReadID (RFC 2971, with its limits of 30 pairs, 30-octet fields and
//     1024-octet values).
//
// # Writing
//
// A Writer encodes responses into a buffer that goes out on Flush (or at
// once for Continuation). String picks quoted or literal by content,
// AString also atom, Binary literal8 when the data holds NUL; Mailbox
// encodes modified UTF-7 (or UTF-8 after SetUTF8); Status writes OK, NO,
// BAD, PREAUTH and BYE with a response code (CodeHighestModSeq,
// CodeModified, CodeNoModSeq, CodeClosed for RFC 7162); Envelope,
// BodyStructure (BODY and BODYSTRUCTURE forms) and ESearch encode those
// data items from go-imap's types. Response lines: List (LIST and LSUB
// with CHILDINFO and OLDNAME), StatusData (with StatusItems), Enabled,
// SortData, ThreadData (from a ThreadNode tree), SortedSeqSet (ESORT ALL
// in sort order), ACL, ListRights, MyRights (adding the virtual c and d
// rights), Quota, QuotaRoot, ID, Namespace, Vanished (with CompactUIDs),
// and for FETCH lines BeginFetch/EndFetch with FetchModSeq, InternalDate,
// BodySectionName, BinarySectionName (with the origin of a partial fetch,
// "BINARY[1]<0>") and BinarySizeName. The first write error sticks and is
// returned by Flush and Err.
//
// # Modified UTF-7
//
// DecodeUTF7 is strict: it accepts only the canonical encoding (RFC 3501
// §5.1.3), so Encode(Decode(s)) == s for every accepted s.
//
// # Not done yet
//
// CATENATE and APPEND's UTF8 data extension; METADATA, NOTIFY, CONTEXT
// (UPDATE, PARTIAL) and other commands not listed above; the search keys
// of extensions (WITHIN's YOUNGER/OLDER, SAVEDATE, FUZZY); tagged-ext
// values of unknown LIST, SELECT and CREATE options (refused with BAD,
// which RFC 5258 §3 asks for LIST); SASLprep of ACL identifiers (RFC
// 4314 §3, a SHOULD: the server gets them as sent). The Writer encodes
// FETCH item names and structures, not whole FETCH responses: the server
// puts them together from the pieces.
package wire
