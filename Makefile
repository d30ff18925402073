# The README's commands. `make test` is what CI runs.
GO ?= go
PKGS := ./...
FUZZTIME ?= 60s

.PHONY: all build test vet race fuzz bench run clean

all: build

build:
	$(GO) build -trimpath -o bin/pochta ./cmd/pochta

run:
	$(GO) run ./cmd/pochta serve

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# Tests with the race detector, in random order. Suites that need slapd,
# PostgreSQL or Chromium start them; without them they skip loudly (fail in CI).
test: vet
	$(GO) test -race -shuffle=on -timeout 25m $(PKGS)

# Every fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin
