#!/bin/sh
# Freestanding build of the portable core (lib/) with Debian's cross compilers,
# one object per module, and a .text/.data/.bss table per target. It also
# fails if any module needs a symbol outside the allowed set (no malloc, no
# stdio, no OS): the core may only call memcpy/memmove/memset/memcmp/strlen
# and the compiler's own helpers. A missing cross compiler is a SKIP line
# and exit status 77 (the other target is still built and checked), and a
# failure (1) under CI=true.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${SIZE_OUT:-$top/build/size}
mkdir -p "$out"
status=0
found=0
skipped=0
flags="-std=c11 -Os -ffreestanding -Wall -Wextra -pedantic -Werror -I$top/include -I$top/lib -isystem $top/cmake/freestanding"

run() { # name cc size extra-flags
    name=$1 cc=$2 sz=$3 extra=$4
    if ! command -v "$cc" >/dev/null 2>&1; then
        if [ "${CI:-}" = true ]; then
            echo "size: FAIL: $cc is not installed (CI=true): no $name table" >&2
            status=1
        else
            echo "size: SKIP: $cc is not installed: no $name table"
            skipped=1
        fi
        return 0
    fi
    found=1
    printf '\n%s (%s %s -Os)\n' "$name" "$cc" "$extra"
    printf '%-18s %8s %6s %6s\n' module .text .data .bss
    tt=0 td=0 tb=0
    for src in "$top"/lib/*.c; do
        m=$(basename "$src" .c)
        obj="$out/$name-$m.o"
        # shellcheck disable=SC2086
        "$cc" $flags $extra -c "$src" -o "$obj"
        set -- $("$sz" "$obj" | awk 'NR==2{print $1, $2, $3}')
        printf '%-18s %8d %6d %6d\n' "$m" "$1" "$2" "$3"
        tt=$((tt + $1)) td=$((td + $2)) tb=$((tb + $3))
        bad=$(nm -u "$obj" 2>/dev/null | awk '{print $2}' |
              grep -Ev '^(memcpy|memmove|memset|memcmp|strlen|__[a-z0-9_]+)$' |
              grep -Ev '^aloft_' || true)
        if [ -n "$bad" ]; then
            echo "size: $m needs symbols outside the core: $bad" >&2
            status=1
        fi
    done
    printf '%-18s %8d %6d %6d\n' TOTAL "$tt" "$td" "$tb"
}

run xtensa-lx106 xtensa-lx106-elf-gcc xtensa-lx106-elf-size "-mlongcalls"
run rv32imc riscv64-unknown-elf-gcc riscv64-unknown-elf-size "-march=rv32imc -mabi=ilp32"
[ $found = 1 ] || echo "size: no cross compiler found (install gcc-xtensa-lx106 gcc-riscv64-unknown-elf)" >&2
[ "$status" != 0 ] || [ "$skipped" = 0 ] || status=77
exit $status
