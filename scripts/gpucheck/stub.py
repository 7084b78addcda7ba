#!/usr/bin/env python3
"""stub.py LIB OUTDIR: writes OUTDIR/<soname>, a library with LIB's soname and dynamic symbols
(with their versions) whose functions return 0 (and print their name when PW_STUB_TRACE is
set), and whose data are zeroed (.bss, so the file stays small). For carrying a program whose
big dependencies it never calls; the few it calls while registering codecs (libaom's and
libvpx's version and capability queries, openmpt's probe) take 0 as "none"."""
import os, re, subprocess, sys, tempfile

lib, outdir = sys.argv[1], sys.argv[2]
soname = re.search(r"\(SONAME\)\s+Library soname: \[(.*?)\]", subprocess.check_output(["readelf", "-dW", lib], text=True)).group(1)
syms = []
for line in subprocess.check_output(["readelf", "--dyn-syms", "-W", lib], text=True).splitlines():
    f = line.split()
    if len(f) < 8 or not f[0].rstrip(":").isdigit():
        continue
    _, _, size, typ, bind, vis, ndx, name = f[:8]
    if ndx in ("UND", "ABS") or typ in ("SECTION", "FILE") or not name or name.split("@")[0] in ("_init", "_fini", "_edata", "_end", "__bss_start"):
        continue
    ver, default = None, True
    if "@@" in name:
        name, ver = name.split("@@")
    elif "@" in name:
        name, ver = name.split("@"); default = False
    size = int(size, 0) if size.startswith("0x") else int(size)
    syms.append((name, ver, default, typ, bind, max(size, 1)))

c = ['#include <stdio.h>\n#include <stdlib.h>\n',
     'static long stub(const char *n) { if (getenv("PW_STUB_TRACE")) fprintf(stderr, "stub %s called in ' + soname + '\\n", n); return 0; }\n']
nodes = {}
for i, (name, ver, default, typ, bind, size) in enumerate(syms):
    cname = f"s_{i}"
    weak = "__attribute__((weak)) " if bind == "WEAK" else ""
    if typ in ("FUNC", "IFUNC", "NOTYPE"):
        c.append(f'{weak}long {cname}(void) {{ return stub("{name}"); }}\n')
    elif typ == "TLS":
        c.append(f'{weak}__thread char {cname}[{size}] __attribute__((aligned(16)));\n')
    else:
        c.append(f'{weak}char {cname}[{size}] __attribute__((aligned(16)));\n')
    if ver:
        nodes.setdefault(ver, [])
        c.append(f'__asm__(".symver {cname}, {name}{"@@" if default else "@"}{ver}");\n')
    else:
        c.append(f'__asm__(".globl {name}\\n.set {name}, {cname}");\n')
        if typ not in ("FUNC", "IFUNC", "NOTYPE"):
            c.append(f'__asm__(".type {name}, @object\\n.size {name}, {size}");\n')
        else:
            c.append(f'__asm__(".type {name}, @function");\n')
with tempfile.TemporaryDirectory() as d:
    src = os.path.join(d, "s.c")
    open(src, "w").write("".join(c))
    args = ["gcc", "-shared", "-fPIC", "-O0", "-o", os.path.join(outdir, soname), src, "-Wl,-soname," + soname]
    vs = os.path.join(d, "v.map")
    # Every s_N stays local; versioned names get their nodes.
    vs_nodes = list(nodes)
    if vs_nodes:
        text = f"{vs_nodes[0]} {{ local: s_*; }};\n" + "".join(f"{v} {{ }};\n" for v in vs_nodes[1:])
    else:
        text = "{ local: s_*; };\n"
    open(vs, "w").write(text)
    args.append("-Wl,--version-script=" + vs)
    subprocess.check_call(args)
print(soname, len(syms), "symbols")
