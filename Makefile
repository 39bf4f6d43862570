# Yubin build and test entry points. `make test` is what CI runs.
GO ?= go
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 10s

.PHONY: all build dev test lint fuzz deps clean

# Commands the build and the tests use; each is also its Debian package.
DEPS = gcc git swaks python3 curl fetchmail
# Packages whose command name differs: dovecot (dovecot-imapd).
DEPS_PKGS = dovecot:dovecot-imapd

all: build

build:
	$(GO) build -o bin/ ./cmd/maild ./cmd/mailctl

# Start the embedded development server (loopback, unprivileged ports,
# demo domain, self-signed TLS, state in ./var).
dev: deps
	$(GO) run ./cmd/maild --dev

# The whole suite: static checks, unit and end-to-end tests, short fuzz runs.
# package-test runs last: in CI it replaces the installed Postfix (an MTA
# the e2e tests use) with the .deb, as a real install would.
test: deps lint
	$(GO) test -count=1 ./...
	$(MAKE) fuzz
	$(MAKE) package-test

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Each fuzz target runs briefly; the corpus in testdata/fuzz is kept.
FUZZ_TARGETS = storage:FuzzParseAddress storage:FuzzMaildirName storage:FuzzCRLF imapd:FuzzMessage pop3d:FuzzCommand pop3d:FuzzSession pop3d:FuzzMessage admin/config:FuzzLoad admin/web:FuzzAutodiscover delivery:FuzzDSNHeaders delivery:FuzzSpamHeader smtpd/senderauth:FuzzHeaderFrom delivery:FuzzSieve

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s ./$${t%%:*}/ || exit 1; \
	done

# Install what is missing (as root, with apt-get); otherwise say what is.
deps:
	@missing=""; for c in $(DEPS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	for cp in $(DEPS_PKGS); do command -v $${cp%%:*} >/dev/null || missing="$$missing $${cp#*:}"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else echo "missing:$$missing (apt-get install$$missing)"; fi; \
	fi

clean:
	rm -rf bin

# Packages (issue 5): the .deb and .rpm for each architecture in dist/,
# built by packaging/build.sh with nfpm (pinned, run with go run). arm64
# cross-compiles with Debian's gcc-aarch64-linux-gnu; `make package
# PKG_ARCHS=amd64` builds only amd64.
PKG_ARCHS ?= amd64 arm64
PKG_TARGETS = $(addprefix package-,$(PKG_ARCHS))

.PHONY: package package-amd64 package-arm64 package-test package-clean

package: $(PKG_TARGETS)

package-amd64 package-arm64:
	GO=$(GO) packaging/build.sh $(@:package-%=%) dist

# Build, inspect and lint the packages, then install, use, remove and purge
# the .deb on this machine (root, Debian; see packaging/test-install.sh).
package-test:
	GO=$(GO) packaging/test-install.sh

package-clean:
	rm -rf dist

clean: package-clean

# Benchmarks (issue 10): the real maild on loopback under SMTP, submission,
# IMAP and POP3 load, printed as one table (cmd/internal/bench; uses
# Postfix's smtp-source and smtp-sink when installed). Not part of `make
# test`. BENCH_FLAGS passes options, e.g. BENCH_FLAGS='-imap 10000,100000'.
BENCH_FLAGS ?=

.PHONY: bench bench-go

bench:
	$(GO) run ./cmd/internal/bench $(BENCH_FLAGS)

# The in-process Go benchmarks behind the table (queue group commit,
# remote delivery, IMAP commands).
bench-go:
	$(GO) test -run '^$$' -bench 'EnqueueConcurrent|InboundLocal|RemoteDelivery' -benchtime 2000x ./delivery/
	$(GO) test -run '^$$' -bench DeliverConcurrent -benchtime 2000x ./storage/
	$(GO) test -run '^$$' -bench . -benchtime 3x ./imapd/

# Side by side with a private Postfix and Dovecot (when installed; root),
# and a long soak watching maild's RSS and goroutines (fails on steady
# growth). Neither is part of `make bench` or CI. SOAK sets the duration.
SOAK ?= 1h

.PHONY: bench-compare bench-soak

bench-compare:
	$(GO) run ./cmd/internal/bench -compare $(BENCH_FLAGS)

bench-soak:
	$(GO) run ./cmd/internal/bench -soak $(SOAK) $(BENCH_FLAGS)
