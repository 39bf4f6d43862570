// Package admin holds the operations behind mailctl that are more than one
// storage call: size parsing and formatting, password generation, the dev
// demo setup, and user listings with usage. The HTTP side (autoconfig,
// autodiscover, metrics) will live here too.
package admin
