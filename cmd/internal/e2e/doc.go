// Package e2e holds end-to-end tests: they build the real maild and mailctl
// binaries, start maild on free loopback ports with a temporary data
// directory, and drive it with real clients (python3 smtplib, swaks, the
// go-smtp client). Tests that need an external tool that is missing are
// skipped locally; CI installs every one of them.
package e2e
