# maildesk — the two commands a newcomer needs are `make demo` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build test test-short demo fuzz bench bench-e2e e2e check clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/maildesk ./cmd/maildesk

# The test suite: unit and integration tests against in-process IMAP and
# SMTP servers, with the race detector. Needs nothing but Go.
test:
	$(GO) test -race -shuffle=on -timeout 20m ./...

test-short:
	$(GO) test -short ./...

# maildesk with built-in mail servers on 127.0.0.1:3143 (IMAP) and :3025 (SMTP).
demo:
	$(GO) run ./cmd/maildesk demo

# Each fuzz target runs for FUZZTIME.
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./mailin -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./mailin -run '^$$' -fuzz '^FuzzSubject$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./mailin -run '^$$' -fuzz '^FuzzVisibleText$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s

# The benchmark: maildesk against in-process servers, with a bare go-imap
# client as the baseline in the same run. Prints a table; JSON in bench/results.
# BENCHFLAGS, e.g. "--messages 1000 --scale 0,10000 --profile bench/profiles".
BENCHFLAGS ?=
bench: build
	./bin/maildesk bench $(BENCHFLAGS)

# The same against real Dovecot and Postfix on loopback (root, Debian).
bench-e2e:
	test/e2e/bench $(BENCHFLAGS)

# The end-to-end suite: the built binary against real Dovecot and Postfix on
# 127.0.0.1 (installed from Debian's packages when missing; needs root).
e2e:
	test/e2e/run

check:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

clean:
	rm -rf bin
