# headroom — `make demo` runs the whole pipeline on the embedded default
# (only Go needed); `make test` installs and starts what the tests need and
# runs every test.

GO        ?= go
BIN       ?= bin
PKGS      := ./...
GOFLAGS   ?=
export GOFLAGS
# Load-generating tests must not overlap: packages run one at a time.
TEST_FLAGS ?= -count=1 -timeout 20m

.PHONY: all build test unit testenv browser testenv-down demo bench lint vet staticcheck fmt fmt-check clean golden

all: build

build:
	$(GO) build -o $(BIN)/headroom ./cmd/headroom
	$(GO) build -o $(BIN)/checkout ./examples/checkout/cmd/checkout
	$(GO) build -o $(BIN)/shapes ./examples/shapes/cmd/shapes

## test: install and start the real components (Prometheus, PostgreSQL,
## Redis, exporters, Chromium), then run every test, one package at a time.
test: testenv browser fmt-check vet
	$(GO) test -run '^$$' $(PKGS) >/dev/null
	$(GO) test -p 1 $(TEST_FLAGS) $(PKGS)

## unit: the tests without starting the environment (real-component tests skip).
unit:
	$(GO) test -p 1 $(TEST_FLAGS) $(PKGS)

testenv:
	bash scripts/testenv.sh up

browser:
	bash scripts/install-browser.sh

testenv-down:
	bash scripts/testenv.sh down

demo:
	$(GO) run ./cmd/headroom demo

bench:
	bash bench/run.sh

lint: vet staticcheck

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

## golden: refresh golden files after an intended change.
golden:
	$(GO) test $(PKGS) -run 'Golden' -update

clean:
	rm -rf $(BIN)
