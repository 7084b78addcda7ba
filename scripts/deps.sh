#!/usr/bin/env bash
# Installs what pigweight needs to build, run and test: Debian packages (GStreamer 1.22 with its
# plugins, Chromium for the browser tests) and ONNX Runtime's shared library, taken from the npm
# package onnxruntime-node and checked against a pinned sha256. Idempotent: a second run only checks.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
ort_version=1.30.0
ort_sha256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
ort_dir="$root/third_party/onnxruntime"
ort_lib="$ort_dir/libonnxruntime.so.1"
# playwright-core drives the Debian chromium in the browser tests (web/ui/browser_test.go); it
# never downloads a browser. Installed under a git-ignored folder, not the repository's root.
playwright_version=1.65.1
node_dir="$root/third_party/node"

debian_packages=(
  pkg-config gcc
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  gstreamer1.0-nice gstreamer1.0-rtsp
  ffmpeg chromium nodejs npm ca-certificates
)

log() { printf 'deps: %s\n' "$*" >&2; }

install_debian_packages() {
  if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    log "this is not a Debian-like system; install these (or your distribution's equivalents) and run again:"
    log "  GStreamer >= 1.22 with development headers, plugins base/good/bad/ugly/libav, gst-launch-1.0,"
    log "  the nice and rtsp plugins, pkg-config, a C compiler, ffmpeg, chromium, node >= 20 with npm"
    exit 1
  fi
  local missing=()
  for p in "${debian_packages[@]}"; do
    # nodejs/npm may come from elsewhere (e.g. a preinstalled node); only ask apt when the tool is absent.
    case $p in
      nodejs) command -v node >/dev/null && continue ;;
      npm) command -v npm >/dev/null && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { log "need root (or sudo) to install: ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_onnxruntime() {
  if [ -f "$ort_lib" ] && echo "$ort_sha256  $ort_lib" | sha256sum -c --status; then
    return 0
  fi
  command -v npm >/dev/null || { log "npm is needed to fetch onnxruntime-node@$ort_version"; exit 1; }
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  log "fetching ONNX Runtime $ort_version from npm (onnxruntime-node, no install scripts)"
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ort_version" >/dev/null)
  tar -xzf "$tmp"/onnxruntime-node-*.tgz -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
  local got
  got=$(sha256sum "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | cut -d' ' -f1)
  if [ "$got" != "$ort_sha256" ]; then
    log "libonnxruntime.so.1 sha256 mismatch: got $got, want $ort_sha256"
    exit 1
  fi
  mkdir -p "$ort_dir"
  install -m 0644 "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$ort_lib.tmp"
  mv "$ort_lib.tmp" "$ort_lib"
  log "ONNX Runtime $ort_version at $ort_lib"
}

install_playwright() {
  local have="$node_dir/node_modules/playwright-core/package.json"
  if [ -f "$have" ] && grep -q "\"version\": \"$playwright_version\"" "$have"; then
    return 0
  fi
  command -v npm >/dev/null || { log "npm is needed to install playwright-core@$playwright_version"; exit 1; }
  mkdir -p "$node_dir"
  log "installing playwright-core@$playwright_version into $node_dir"
  npm install --no-save --no-audit --no-fund --prefix "$node_dir" "playwright-core@$playwright_version"
}

install_debian_packages
install_onnxruntime
install_playwright
