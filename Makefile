# pigweight: `make run` sets everything up and starts the demo; `make test` sets everything up
# and runs every test.

GO      ?= go
BIN     := bin/pigweight
CONFIG  ?= configs/pigweight.yaml
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

# Tests and the server find ONNX Runtime here (make deps puts it there).
export PIGWEIGHT_ONNXRUNTIME ?= $(CURDIR)/third_party/onnxruntime/libonnxruntime.so.1

# Packages that must build without cgo (no GStreamer, no ONNX Runtime): see DESIGN.md.
PURE_PACKAGES := ./pipelines ./pipelines/spec ./pipelines/pen ./pipelines/media ./pipelines/index ./pipelines/videos ./web/api ./web/ui ./elements/batch ./elements/detect ./elements/overlay ./elements/onnx ./elements/weight ./pipelines/store ./pipelines/weighing ./signaling/...

.PHONY: all deps build models run test vet bench clean

all: build models

deps:
	@./scripts/deps.sh

build: deps
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/pigweight

# Generated models are build outputs (git-ignored): the demo model finds the synthetic pen's
# pigs; the bench model costs what YOLOv8n costs, for performance work.
models: models/demo.onnx models/bench.onnx

# Rebuilt with the binary each time (a few milliseconds), so they never lag behind the code.
models/demo.onnx: build
	./$(BIN) model demo -o $@

models/bench.onnx: build
	./$(BIN) model bench -o $@

run: build models/demo.onnx
	./$(BIN) serve --config $(CONFIG)

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi

# Benchmarks, each against a baseline measured in the same run, printed and written to bench/
# (about 20 minutes on two cores): inference (raw ONNX Runtime vs live pwinfer pipelines, with
# the workers the server chooses and with one worker), exact frames of an upload (vs ffmpeg -ss
# and the decoding floor), WebRTC viewers (first frame, latency, server CPU per viewer). Narrow
# the inference runs with e.g. BENCH_FLAGS="--batches 1,2 --streams 1,4".
bench: models/bench.onnx
	./$(BIN) bench --model models/bench.onnx --out bench/results.json $(BENCH_FLAGS)
	./$(BIN) bench --model models/bench.onnx --workers 1 --pipeline-repeats 1 --out bench/results-workers1.json $(BENCH_FLAGS)
	./$(BIN) bench frames --out bench/frames.json
	./$(BIN) bench viewers --out bench/viewers.json

test: deps vet
	CGO_ENABLED=0 $(GO) build $(PURE_PACKAGES)
	# The analytics are tested without cgo too, as they must build on their own.
	CGO_ENABLED=0 $(GO) test -count=1 ./elements/weight ./pipelines/store ./pipelines/weighing
	$(GO) test -race -count=1 -timeout 25m ./...

clean:
	rm -rf bin
