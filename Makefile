# Yubin build and test entry points. `make test` is what CI runs.
GO ?= go
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 10s

.PHONY: all build dev test unit e2e lint fuzz clean

all: build

build:
	$(GO) build -o bin/ ./cmd/maild ./cmd/mailctl

# Start the embedded development server (loopback, unprivileged ports,
# demo domain, self-signed TLS, state in ./var).
dev:
	$(GO) run ./cmd/maild --dev

# The whole suite: static checks, unit and end-to-end tests, short fuzz runs.
test: lint
	$(GO) test -count=1 ./...
	$(MAKE) fuzz

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Each fuzz target runs briefly; the corpus in testdata/fuzz is kept.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseAddress$$' -fuzztime $(FUZZTIME) ./storage/

clean:
	rm -rf bin
