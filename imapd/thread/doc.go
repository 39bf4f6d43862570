// Package thread orders and threads messages for the IMAP SORT and
// THREAD commands: RFC 5256 (SORT, THREAD=ORDEREDSUBJECT,
// THREAD=REFERENCES) and RFC 5957 (SORT=DISPLAY). It is pure: the caller
// gathers, for the messages a search selected, the few values these
// algorithms look at into a []Message (sequence numbers or UIDs in Num,
// whichever the command answers with), and gets back numbers or a tree.
// Nothing here reads storage, holds state between calls or logs.
//
// # Strings
//
// Subjects and display names may be given raw (RFC 2047 encoded words
// are decoded here, in every charset go-message knows) or already
// decoded. Strings are compared with the i;ascii-casemap collation
// (RFC 4790 §9.2), the default of RFC 5255 I18NLEVEL=1 that RFC 5256 §3
// requires: ASCII letters compare without case, every other octet as
// it is. The base subject (RFC 5256 §2.1) follows the steps and ABNF of
// the RFC, with one reading made explicit: after step (1) the text is
// UTF-8, so BLOBCHAR and NONWSP ("any CHAR except ...") admit non-ASCII
// characters, or no subject in another script would have a base.
//
// # Message-IDs
//
// Message-IDs are compared case-sensitively, as octet strings, after
// removing the angle brackets and surrounding white space (RFC 5256 §3,
// REFERENCES step 1A). ParseMsgIDs splits a References or In-Reply-To
// header value into IDs.
//
// # Bounds
//
// Every function is linear or n·log n in the number of messages, with
// these caps against hostile headers:
//
//   - a References list longer than MaxReferences keeps its first ID and
//     the last MaxReferences-1 (as RFC 5322 §3.6.4 suggests a client
//     trims it; RFC 5256 §3 already expects truncated lists);
//   - the loop checks of REFERENCES step 1 walk up the tree; their total
//     work per call is bounded by a budget proportional to the input, and
//     a link whose check would exceed it is not made (as if it made a
//     loop), so a pathological mailbox gets a flatter tree, never a
//     cycle, a hang or a panic;
//   - the base subject is found in time linear in the subject's length,
//     however many "[blob]" prefixes it has.
//
// BenchmarkThread10k and BenchmarkSort10k measure a generated
// 10,000-message mailbox.
package thread
