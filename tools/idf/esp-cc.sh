#!/bin/bash
# A Debian cross compiler answering as an ESP toolchain, for make idf-check
# on a machine without Espressif's toolchains. Installed by mkenv.sh under
# the ESP names (xtensa-esp32-elf-gcc, riscv32-esp-elf-gcc, ...): the name
# it was called by picks the Debian tool (gcc-xtensa-lx106 for Xtensa,
# gcc-riscv64-unknown-elf for RISC-V), and the flags only Espressif's GCC
# knows are dropped or mapped. Good for compiling, not for linking an image:
# lx106 is not the ESP32's LX6 core, so objects prove the code compiles and
# give sizes, nothing more.
set -eu
me=$(basename "$0")
case $me in
    xtensa-esp32-elf-*) arch=xtensa; tool=${me#xtensa-esp32-elf-}; real=xtensa-lx106-elf-; machine=xtensa-esp32-elf
                        specs=/usr/lib/xtensa-lx106-elf ;;
    riscv32-esp-elf-*)  arch=riscv;  tool=${me#riscv32-esp-elf-};  real=riscv64-unknown-elf-; machine=riscv32-esp-elf
                        specs=/usr/lib/picolibc/riscv64-unknown-elf ;;
    *) echo "esp-cc.sh: called as $me: not an ESP tool name" >&2; exit 2 ;;
esac
case $tool in
    gcc|g++|cc|c++) ;;
    *) exec "$real$tool" "$@" ;;     # binutils and gcc-ar/gcc-ranlib as they are
esac
# IDF passes its toolchain flags in response files (@build/toolchain/cflags):
# read them here so that the mapping below sees every flag.
in=()
for a in "$@"; do
    if [ "${a#@}" != "$a" ] && [ -f "${a#@}" ]; then
        eval "in+=($(cat "${a#@}"))"
    else
        in+=("$a")
    fi
done
# ALOFT_ESPCC_LIBC=newlib: headers of IDF 5.x, which need newlib's (the
# ESP toolchains ship newlib; Debian has its headers in libnewlib-dev).
libc=${ALOFT_ESPCC_LIBC:-picolibc}
args=()
if [ "$libc" = newlib ]; then   # GCC's own headers (stdatomic.h...) first, then newlib's
    gi=$("${real}gcc" -print-file-name=include)
    args+=(-nostdinc -isystem "$gi" -isystem "$gi-fixed" -isystem /usr/include/newlib)
fi
for a in "${in[@]}"; do
    case $a in
        -dumpmachine) echo "$machine"; exit 0 ;;
        -mdisable-hardware-atomics|-mtune=esp-base|-mtune=esp32*) ;;   # Espressif GCC only
        -specs=picolibc*.specs|--specs=picolibc*.specs)                 # Debian keeps them apart
            [ "$libc" = newlib ] || args+=("-specs=$specs/${a#*specs=}") ;;
        -std=gnu23) args+=(-std=gnu2x) ;;                               # GCC 12 spelling
        -std=gnu++26|-std=gnu++2c) args+=(-std=gnu++2b) ;;
        -march=*) [ $arch = riscv ] || args+=("$a") ;;                  # set below on RISC-V
        -mabi=*) [ $arch = riscv ] || args+=("$a") ;;
        -fzero-init-padding-bits=*) ;;                                  # GCC 15 only
        *) args+=("$a") ;;
    esac
done
if [ $arch = riscv ]; then
    args=(-march=rv32imc_zicsr_zifencei -mabi=ilp32 "${args[@]}")
fi
exec "$real$tool" "${args[@]}"
