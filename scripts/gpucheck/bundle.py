#!/usr/bin/env python3
"""bundle.py OUT ROOT...: copies ROOT programs and plugins (*.so under gstreamer-1.0 go to
OUT/gst) into OUT, with the shared libraries they need in OUT/lib: the ones matching KEEP as
they are, every other one as a stub (stub.py) that only satisfies the dynamic linker. glibc is
left to the machine."""
import os, re, shutil, subprocess, sys

GLIBC = re.compile(r"^(libc|libm|libpthread|libdl|librt|libresolv|libutil|ld-linux-x86-64)\.so")
# Kept as they are: GStreamer and GLib, libav and what decoding, muxing, x264/x265 (the tests
# make their clips with them) and GnuTLS (ffmpeg initialises it) need, the GL stack nvcodec
# links, libjpeg/libpng for the encoders, and libgme, whose probe ffmpeg runs on every input
# and whose answer it dereferences.
KEEP = re.compile(r"^lib(gst|glib|gobject|gmodule|gio|gthread|ffi|pcre2|orc|z\.|lzma|bz2|zstd|stdc\+\+|gcc_s|unwind|dw|elf|"
                  r"av|sw|postproc|x264|x265|numa|gme|gnutls|nettle|hogweed|gmp|p11-kit|tasn1|idn2|unistring|"
                  r"GL|EGL|OpenGL|X11|xcb|Xau|Xdmcp|Xext|wayland|drm|gbm|gudev|udev|bsd|md\.|expat|jpeg|png16|mount|blkid|selinux|cap|"
                  r"graphene|Xrender|Xfixes|Xdamage|Xxf86vm|xshmfence|X11-xcb)")
out, roots = sys.argv[1], sys.argv[2:]
for d in ("bin", "lib", "gst"):
    os.makedirs(os.path.join(out, d), exist_ok=True)
where = {}
for r in roots:
    for line in subprocess.check_output(["ldd", r], text=True).splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            where[m.group(1)] = m.group(2)

def needed(path):
    return re.findall(r"\(NEEDED\).*\[(.*?)\]", subprocess.check_output(["readelf", "-dW", path], text=True))

seen, stubs = set(), []
todo = [n for r in roots for n in needed(r)]
for r in roots:
    shutil.copy(r, os.path.join(out, "gst" if "/gstreamer-1.0/" in r else "bin"))
while todo:
    n = todo.pop()
    if n in seen or GLIBC.match(n):
        continue
    seen.add(n)
    if KEEP.match(n):
        shutil.copy(where[n], os.path.join(out, "lib", n))
        todo += needed(where[n])
    else:
        stubs.append(n)
        subprocess.check_call([sys.executable, os.path.join(os.path.dirname(__file__), "stub.py"), where[n], os.path.join(out, "lib")], stdout=subprocess.DEVNULL)
print("stubbed:", " ".join(sorted(stubs)))
