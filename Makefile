# lbd: one binary that is a load-balancer appliance (HAProxy + keepalived).
#
#   make build     bin/lbd and bin/lbctl
#   make test      lint, unit tests (race detector), end-to-end tests (root)
#   make demo      a two-node pair in network namespaces serving through the VIP
#   make lab-up    the same lab, left running for hands-on use (make lab-down)
#   make bench     lbd against HAProxy, side by side, ratios
#   make install   binaries, systemd unit, example config (DESTDIR-aware)

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin
PREFIX  ?= /usr/local
DESTDIR ?=

# Unit-test packages: everything but the end-to-end tests, which run
# serially on their own because they build network namespaces.
UNIT_PKGS = $(shell $(GO) list ./... | grep -v /test/e2e)

.PHONY: all build test unit e2e lint fuzz demo lab-up lab-down bench install clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/lbd ./cmd/lbd
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/lbctl ./cmd/lbctl

test: lint unit e2e

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 10m $(UNIT_PKGS)

e2e:
	$(GO) test -count=1 -p 1 -timeout 15m ./test/e2e/...

# A short run of every fuzz target over its committed corpus and beyond.
FUZZTIME ?= 20s
fuzz:
	@for pkg in $(UNIT_PKGS); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# The tour of DESIGN.md in the netns lab; it builds what it needs and ends
# by itself (root, or it re-runs itself with sudo).
demo:
	deploy/lab/demo.sh

install: build
	DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' ./deploy/install.sh

clean:
	rm -rf $(BIN)

include deploy/lab/lab.mk
-include bench/bench.mk
