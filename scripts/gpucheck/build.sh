#!/bin/bash
# Builds what the GPU check carries to a machine with an NVIDIA GPU but no Go or GStreamer:
# .gpucheck/bundle.tar.xz (pigweight, the test binaries of the decoding packages, GStreamer's
# tools and plugins, nvcodec among them, Debian's ffmpeg, and the libraries they need) and
# .gpucheck/pen1080.mp4 (the exact-frame bench's 1080p recording). On that machine, from a
# copy of the repository with those two files:
#
#	scripts/gpucheck/run.sh            # NVDEC tests, then bench frames --decode nvdec and software
#
# Libraries that ffmpeg and gst-libav link but never call for decoding H.264/H.265 (AV1, VP9,
# SDL, libass, ...) are replaced by stand-ins (stub.py) so that the bundle stays under 40 MB;
# the stand-ins make ffmpeg start faster than Debian's own, which understates our ratio.
set -e
cd "$(dirname "$0")/../.."
out=.gpucheck
P=/usr/lib/x86_64-linux-gnu/gstreamer-1.0
rm -rf $out/bundle && mkdir -p $out/build
go build -ldflags="-s -w" -o $out/build/pigweight ./cmd/pigweight
for p in frames graph; do go test -ldflags="-s -w" -c -o $out/build/$p.test ./pipelines/$p; done
go test -ldflags="-s -w" -c -o $out/build/pigweight.test ./cmd/pigweight
plugins="coreelements app isomp4 matroska videoparsersbad nvcodec libav jpeg png videoconvertscale x264 playback typefindfunctions videotestsrc"
python3 scripts/gpucheck/bundle.py $out/bundle $out/build/* $(command -v ffmpeg gst-launch-1.0 gst-inspect-1.0) \
	$(for p in $plugins; do echo $P/libgst$p.so; done)
tar -C $out/bundle -cf - . | xz -T0 -6 >$out/bundle.tar.xz
if [ ! -e $out/pen1080.mp4 ]; then
	$out/build/pigweight bench frames --file $out/pen1080.mp4 --samples 1 --out $out/recording.json >/dev/null
fi
ls -l $out/bundle.tar.xz $out/pen1080.mp4
