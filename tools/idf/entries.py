#!/usr/bin/env python3
"""aloft's entries of an IDF build's compile_commands.json (tools/idf/check.sh).

  entries.py count DB TOP                 how many of aloft's files the build has
  entries.py compile DB TOP LOG           compile them as configured; any warning fails
  entries.py size DB TOP SIZE-TOOL        .text/.rodata/.data/.bss of their objects
  entries.py idf5 DB TOP CHIPDIR OUT LOG  compile the component's files against
                                          esp32-arduino-libs' IDF 5.x (CHIPDIR)

A whole-image build of IDF needs the real toolchain's libc and prebuilt
libraries; compiling only aloft's entries checks what aloft is responsible
for, with IDF's real flags, include paths and sdkconfig.h.
"""
import json
import os
import shlex
import subprocess
import sys


def ours(path, top):
    """path is in aloft's sources (not in a build directory inside them)."""
    rel = os.path.relpath(os.path.realpath(path), os.path.realpath(top))
    return not rel.startswith("..") and "build" not in rel.split(os.sep)


def entries(db, top):
    """aloft's files (component, core, example) in DB, in a stable order."""
    seen = {}
    for e in json.load(open(db)):
        f = os.path.realpath(os.path.join(e["directory"], e["file"]))
        if ours(f, top):
            seen[f] = e
    return [(f, seen[f]) for f in sorted(seen)]


def part(top, f):
    rel = os.path.relpath(f, top)
    if rel.startswith("lib" + os.sep):
        return "core"
    if rel.startswith("examples" + os.sep):
        return "example"
    return "port"


def argv(e):
    return e["arguments"] if "arguments" in e else shlex.split(e["command"])


def run(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def compile_all(db, top, log):
    es = entries(db, top)
    bad, lines = 0, []
    for f, e in es:
        # -Werror on top of IDF's flags, and a warning -Werror lets through
        # (IDF's -Wno-error=...) fails too.
        rc, text = run(argv(e) + ["-Werror", "-fdiagnostics-color=never"], e["directory"])
        if rc != 0 or "warning:" in text:
            bad += 1
            lines.append("FAIL %s\n%s" % (os.path.relpath(f, top), text))
    parts = {}
    for f, _ in es:
        parts[part(top, f)] = parts.get(part(top, f), 0) + 1
    summary = ", ".join("%d %s" % (n, p) for p, n in sorted(parts.items()))
    lines.append("  compiled %d files of aloft's (%s) with -Werror: %s" %
                 (len(es), summary, "%d failed" % bad if bad else "no warning"))
    if not es:
        lines.append("  no file of aloft's in %s: is the component in the build?" % db)
        bad = 1
    open(log, "w").write("\n".join(lines) + "\n")
    return 1 if bad else 0


def output_of(e):
    if "output" in e:
        return os.path.join(e["directory"], e["output"])
    a = argv(e)
    return os.path.join(e["directory"], a[a.index("-o") + 1])


KINDS = ((".text", (".text", ".literal", ".iram")),
         (".rodata", (".rodata", ".srodata")),
         (".data", (".data", ".sdata", ".dram")),
         (".bss", (".bss", ".sbss")))


def sizes(obj, tool):
    out = subprocess.run([tool, "-A", obj], capture_output=True, text=True, check=True).stdout
    got = {k: 0 for k, _ in KINDS}
    for line in out.splitlines():
        w = line.split()
        if len(w) < 2 or not w[1].isdigit():
            continue
        for k, prefixes in KINDS:
            if any(w[0] == p or w[0].startswith(p + ".") for p in prefixes):
                got[k] += int(w[1])
    return got


def size_table(db, top, tool):
    es = entries(db, top)
    target = os.path.basename(os.path.dirname(db))
    rows = {}
    for f, e in es:
        p = part(top, f)
        if p == "example":
            continue
        s = sizes(output_of(e), tool)
        r = rows.setdefault(p, {k: 0 for k, _ in KINDS})
        for k in s:
            r[k] += s[k]
    flags = [a for a in argv(es[0][1]) if a.startswith("-O")] if es else []
    print("\n  %s: aloft component size in bytes (%s %s, objects before linking)" %
          (target, tool, " ".join(flags)))
    print("  %-14s %8s %8s %8s %8s" % ("", ".text", ".rodata", ".data", ".bss"))
    total = {k: 0 for k, _ in KINDS}
    for p in ("core", "port"):
        if p in rows:
            print("  %-14s %8d %8d %8d %8d" % ((p,) + tuple(rows[p][k] for k, _ in KINDS)))
            for k in total:
                total[k] += rows[p][k]
    print("  %-14s %8d %8d %8d %8d" % (("total",) + tuple(total[k] for k, _ in KINDS)))
    print("  flash = .text + .rodata + .data = %d; RAM = .data + .bss = %d (static, before "
          "aloft_start's task stack)" % (total[".text"] + total[".rodata"] + total[".data"],
                                         total[".data"] + total[".bss"]))
    return 0


def idf5(db, top, chipdir, outdir, log):
    """The component's files with esp32-arduino-libs' flags for one chip."""
    chip = os.path.basename(os.path.normpath(chipdir))
    inc = os.path.join(chipdir, "include")

    def words(name):
        return shlex.split(open(os.path.join(chipdir, "flags", name)).read())

    base = (words("defines") + ["-iprefix", inc + os.sep] + words("includes") +
            ["-I" + os.path.join(chipdir, "qio_qspi", "include")] + words("c_flags") +
            ["-Os", "-Wall", "-Wextra", "-Werror", "-fdiagnostics-color=never"])
    cc = "xtensa-esp32-elf-gcc" if chip in ("esp32", "esp32s2", "esp32s3") else "riscv32-esp-elf-gcc"
    os.makedirs(outdir, exist_ok=True)
    # The component's own Kconfig values (CONFIG_ALOFT_*) as the IDF 6 build
    # of (b) set them: arduino-libs' sdkconfig.h was made without aloft.
    own_cfg = os.path.join(outdir, "aloft_sdkconfig.h")
    with open(own_cfg, "w") as o:
        for line in open(os.path.join(os.path.dirname(db), "config", "sdkconfig.h")):
            if line.startswith("#define CONFIG_ALOFT_"):
                o.write(line)
    base += ["-include", own_cfg]
    es = [(f, e) for f, e in entries(db, top) if part(top, f) != "example"]
    bad, lines = 0, []
    for f, e in es:
        # aloft's own include dirs and definitions from the IDF 6 build (the
        # component's CMakeLists decides them); IDF's come from the 5.x flags.
        own = []
        a = argv(e)
        for i, w in enumerate(a):
            if w.startswith("-I") and ours(w[2:] or a[i + 1], top):
                own.append("-I" + (w[2:] or a[i + 1]))
            elif w.startswith("-DALOFT") or w.startswith("-DAESP"):
                own.append(w)
        obj = os.path.join(outdir, os.path.relpath(f, top).replace(os.sep, "_") + ".o")
        rc, text = run([cc] + base + own + ["-c", f, "-o", obj], e["directory"])
        if rc != 0 or "warning:" in text:
            bad += 1
            lines.append("FAIL %s\n%s" % (os.path.relpath(f, top), text))
    lines.append("  compiled %d files of aloft's against IDF 5.x headers (%s, -Wall -Wextra "
                 "-Werror): %s" % (len(es), chip, "%d failed" % bad if bad else "no warning"))
    open(log, "w").write("\n".join(lines) + "\n")
    return 1 if bad or not es else 0


def main():
    cmd = sys.argv[1]
    if cmd == "count":
        print(len(entries(sys.argv[2], sys.argv[3])))
        return 0
    if cmd == "compile":
        return compile_all(*sys.argv[2:5])
    if cmd == "size":
        return size_table(*sys.argv[2:5])
    if cmd == "idf5":
        return idf5(*sys.argv[2:7])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
