# pigweight: `make run` sets everything up and starts the demo; `make test` sets everything up
# and runs every test.

GO      ?= go
BIN     := bin/pigweight
CONFIG  ?= configs/pigweight.yaml
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

# Tests and the server find ONNX Runtime here (make deps puts it there).
export PIGWEIGHT_ONNXRUNTIME ?= $(CURDIR)/third_party/onnxruntime/libonnxruntime.so.1

# Packages that must build without cgo (no GStreamer, no ONNX Runtime): see DESIGN.md.
PURE_PACKAGES := ./pipelines ./pipelines/spec ./pipelines/pen ./web/api ./web/ui

.PHONY: all deps build run test vet clean

all: build

deps:
	@./scripts/deps.sh

build: deps
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/pigweight

run: build
	./$(BIN) serve --config $(CONFIG)

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi

test: deps vet
	CGO_ENABLED=0 $(GO) build $(PURE_PACKAGES)
	$(GO) test -race -count=1 -timeout 25m ./...

clean:
	rm -rf bin
