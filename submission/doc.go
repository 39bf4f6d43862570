// Package submission is the message submission policy (RFC 6409) that
// ports 587 and 465 plug into the smtpd session core, and the same
// treatment for mail handed to `mailctl sendmail`:
//
//   - MAIL needs AUTH (530 5.7.0); smtpd offers AUTH only under TLS.
//   - The envelope sender and every From: address must be the user's: its
//     own address (plus addressing included), an alias that resolves to it,
//     or any address of a domain whose catch-all resolves to it
//     (553 5.7.1 otherwise).
//   - Any recipient is accepted: authenticated users may relay.
//   - Missing Message-ID: and Date: are added (From: too, from the
//     envelope sender, when absent).
//   - Messages from a domain that has a DKIM key are signed (RFC 6376,
//     relaxed/relaxed, rsa-sha256 or ed25519-sha256, From oversigned).
//
// The message passes through a temporary file (unlinked at once) so the
// signature can be computed over the final body without holding it in
// memory.
package submission
