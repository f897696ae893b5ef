# wis2downloader — see README.md.
SHELL   := /bin/bash
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/wmo-im/wis2downloader/internal/buildinfo.version=$(VERSION)
SERVICES := subscriber api worker ui
FUZZTIME ?= 5s
TEST_TIMEOUT ?= 25m

.PHONY: all build test unit lint generate run up down bench fuzz fuzz-short clean

all: build

## build: static binaries of the four services into bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ $(addprefix ./cmd/,$(SERVICES))

## test: everything CI runs: lint, every test (real redis-server/mosquitto), short fuzzing
test: lint unit fuzz-short

unit:
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

## lint: gofmt, go vet, generated templ code up to date
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@$(GO) tool templ generate >/dev/null 2>&1 || { echo "templ generate failed"; exit 1; }
	@if [ -n "$$(git status --porcelain -- '*_templ.go')" ]; then echo "generated *_templ.go files are stale; commit the output of 'make generate'"; git status --short -- '*_templ.go'; exit 1; fi

## generate: regenerate templ code
generate:
	$(GO) tool templ generate

## fuzz-short: every fuzz target for FUZZTIME (5s; `make fuzz` runs 2m each)
fuzz-short:
	@set -e; for f in $$(grep -rlE '^func Fuzz' --include='*_test.go' internal); do \
	  d=./$$(dirname $$f); \
	  for n in $$(grep -oE '^func Fuzz[A-Za-z0-9_]+' $$f | cut -d' ' -f2); do \
	    echo "fuzz $$d $$n for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$n$$" -fuzztime $(FUZZTIME) $$d; \
	  done; \
	done

fuzz: FUZZTIME = 2m
fuzz: fuzz-short

## bench: benchmarks (worker, subscriber, api, end-to-end load)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

## run: the four services natively against a local redis-server (no Docker)
run: build
	./containers/run-native.sh

## up / down: the Docker Compose stack (creates .env with random secrets on first use)
up:
	sh containers/setup-env.sh
	docker compose up -d --build

down:
	docker compose down

clean:
	rm -rf bin
