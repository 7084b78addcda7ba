#!/bin/bash
# The GPU check (see build.sh), from a copy of the repository on the GPU machine: exact frames
# and live decoding through NVDEC against ffmpeg's, then the exact-frame bench with NVDEC and
# with software decoding on the same machine. Results go to $OUT (default /tmp/gpucheck).
# DECODERS="nvdec" (or "") chooses the bench runs, SAMPLES their random frames (100),
# BUNDLE where the bundle is unpacked (/tmp/pigweight-bundle).
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpucheck}
B=${BUNDLE:-/tmp/pigweight-bundle}
mkdir -p "$OUT"
if [ ! -x "$B/bin/pigweight" ]; then mkdir -p "$B" && tar -C "$B" -xJf .gpucheck/bundle.tar.xz || exit 1; fi
export PATH=$B/bin:$PATH LD_LIBRARY_PATH=$B/lib
export GST_PLUGIN_SYSTEM_PATH_1_0=$B/gst GST_PLUGIN_PATH_1_0= GST_REGISTRY_FORK=no GST_REGISTRY_1_0=/tmp/pigweight-gst-registry.bin
export PIGWEIGHT_TEST_BINARY=$B/bin/pigweight
results='^(---|ok|FAIL|PASS|panic|\s+\S+_test.go)'
{
	date -u; nvidia-smi -L 2>&1; nproc
	gst-inspect-1.0 nvh264dec 2>&1 | grep -m1 -i "long-name"
	echo "=== graph tests (rtspsrc is not carried)"
	(cd pipelines/graph && timeout 120 graph.test -test.skip TestHostileStrings -test.v 2>&1 | grep -E "$results")
	echo "=== frames tests"
	(cd pipelines/frames && timeout 240 frames.test -test.timeout 230s -test.v 2>&1 | grep -E "$results")
	echo "=== server tests"
	(cd cmd/pigweight && timeout 240 pigweight.test -test.timeout 230s -test.v \
		-test.run 'TestEveryTrickyUploadServesExactFrames|TestBenchFrames' 2>&1 | grep -E "$results")
	file=()
	[ -e .gpucheck/pen1080.mp4 ] && file=(--file .gpucheck/pen1080.mp4)
	for d in ${DECODERS-nvdec software}; do
		echo "=== bench frames --decode $d"
		timeout 300 pigweight bench frames "${file[@]}" --decode "$d" --samples "${SAMPLES:-100}" \
			--out "$OUT/frames-$d.json" 2>&1 | grep -v $'\r'
	done
} 2>&1 | tee "$OUT/gpucheck.txt"
