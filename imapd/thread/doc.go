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
// decoded. Strings collate with i;unicode-casemap (RFC 5051), which RFC
// 5256 §7 requires (the I18NLEVEL=1 rules of RFC 5255): titlecase, then
// canonical decomposition, then octet order, so "é" sorts with "E" and
// ASCII compares as i;ascii-casemap would. The base subject (RFC 5256
// §2.1) follows the steps and ABNF of the RFC; its BLOBCHAR and NONWSP
// are CHAR8, so blobs and subjects in any script are handled alike.
//
// # Message-IDs
//
// Message-IDs are compared case-sensitively, as octet strings, in the
// normalized form RFC 5256 §3 requires: without angle brackets, folding
// white space and quoting (<"a.b"@x> is <a.b@x>). ParseMsgIDs splits a
// References or In-Reply-To header value into normalized IDs.
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
