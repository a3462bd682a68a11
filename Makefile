# The README's commands. `make test` installs what the tests need, then runs
# every test, the integration tests against real MediaWiki wikis included.

GO ?= go

.PHONY: test deps unit vet demo build

test: deps vet
	$(GO) test -count=1 -timeout 12m ./...

unit:
	$(GO) test -count=1 -short ./...

vet:
	$(GO) vet ./...

deps:
	./scripts/deps.sh

build:
	$(GO) build -o courier ./cmd/courier

demo: deps
	$(GO) run ./cmd/courier-demo
