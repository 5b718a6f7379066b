#!/bin/bash
# make idf-check: the ESP-IDF component (port/esp-idf) against a real ESP-IDF.
# Not part of make test. Without IDF_PATH: a SKIP line and exit 0.
#
#   (a) linux   tests/idf/linux_app built by IDF's CMake for IDF_TARGET=linux,
#               run over IDF's emulated esp_partition and FreeRTOS POSIX port
#               on a flash file made by aloft-sim; `aloft upload` on 127.0.0.1;
#               aloft-sim's bootloader model then boots the flash file, the
#               app confirms the new image, and the bootloader model agrees
#   (b) cross   examples/esp-idf configured for esp32 and esp32c3; every
#               compile_commands.json entry of aloft's files (component, core,
#               example) compiled, a warning is an error; a size table
#   (c) idf5    the same component files against IDF 5.1 as arduino-esp32 3.x
#               builds (esp32-arduino-libs: its flags, include dirs and
#               sdkconfig.h), for esp32 and esp32c3
#   (d) agent   the example again for esp32 with CONFIG_ALOFT_MQTT_AGENT=y and
#               esp-mqtt (ALOFT_ESP_MQTT: a checkout or git dir of
#               espressif/esp-mqtt, IDF 6's registry component; without it a
#               SKIP line): aloft's files, esp_agent.c included, with -Werror
#
# Environment: IDF_PATH (required), ALOFT_BIN (aloft, aloft-sim; default
# build/bin), ALOFT_IDF_OUT (work dir; default build/idf-check),
# ALOFT_IDF_STEPS (default "linux cross idf5 agent"), ALOFT_IDF5_LIBS (a directory
# with esp32/ and esp32c3/ of esp32-arduino-libs; without it step (c) is
# skipped), ALOFT_IDF_ENV (a tree made by tools/idf/mkenv.sh: its wrappers,
# kconfgen and esp-pylib stand-in; not needed after IDF's export.sh),
# ALOFT_IDF_MDNS (the espressif/mdns component, which the component requires
# on the chips; default ALOFT_IDF_ENV/mdns, which mkenv.sh extracts from
# espressif/esp-protocols; the component manager is off here).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)

if [ -z "${IDF_PATH:-}" ]; then
    echo "idf-check: SKIP: IDF_PATH is not set (run . \$IDF_PATH/export.sh first; docs/PORTING.md section 4)"
    exit 0
fi
[ -f "$IDF_PATH/tools/cmake/project.cmake" ] || { echo "idf-check: FAIL: IDF_PATH=$IDF_PATH is not an ESP-IDF tree" >&2; exit 1; }

export ALOFT_BIN=${ALOFT_BIN:-$top/build/bin}
out=${ALOFT_IDF_OUT:-$top/build/idf-check}
steps=${ALOFT_IDF_STEPS:-linux cross idf5 agent}
component=$top/port/esp-idf
cname=$(basename "$component")
export IDF_COMPONENT_MANAGER=0     # nothing downloaded: the checks use what is here
python=$(command -v python3 || command -v python)
cmake_py=(-DPYTHON="$python")
if [ -n "${ALOFT_IDF_ENV:-}" ]; then
    export PATH="$ALOFT_IDF_ENV/bin:$PATH"
    export PYTHONPATH="$ALOFT_IDF_ENV/kconfig:$ALOFT_IDF_ENV/pylib${PYTHONPATH:+:$PYTHONPATH}"
    python=/usr/bin/python3
    cmake_py=(-DPYTHON=$python -DPYTHON_DEPS_CHECKED=1)   # idf.py's package check needs pip
    : "${ALOFT_IDF5_LIBS:=$ALOFT_IDF_ENV/arduino-libs}"
    : "${ALOFT_IDF_MDNS:=$ALOFT_IDF_ENV/mdns}"
fi
mkdir -p "$out"
t_all=$SECONDS

idf_ver=$(sed -n 's/set(IDF_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\))/\2/p' "$IDF_PATH/tools/cmake/version.cmake" | paste -sd.)
idf_commit=$(git -C "$IDF_PATH" rev-parse HEAD 2>/dev/null || cat "$IDF_PATH/.aloft-commit" 2>/dev/null || echo unknown)
echo "idf-check: ESP-IDF $idf_ver at $IDF_PATH (commit $idf_commit)"

die() { echo "idf-check: FAIL: $*" >&2; exit 1; }
# A failed target or step is reported and the others still run (one run
# shows every problem); the exit status is 1 if anything failed.
failed=()
failure() { echo "idf-check: FAIL: $*" >&2; failed+=("$1"); }

# configure DIR PROJECT TARGET [cmake args]: IDF's own CMake, as idf.py runs it.
configure() {
    local dir=$1 proj=$2 target=$3; shift 3
    rm -rf "$dir"
    if ! cmake -G Ninja -S "$proj" -B "$dir" -DIDF_TARGET="$target" -DSDKCONFIG="$dir/sdkconfig" \
        "${cmake_py[@]}" "$@" >"$dir.configure.log" 2>&1; then
        tail -40 "$dir.configure.log" >&2
        die "configuring $(basename "$proj") for $target (full log: $dir.configure.log)"
    fi
}

# ------------------------------------------------------------ (a) linux
step_linux() {
    local b=$out/linux
    [ -x "$ALOFT_BIN/aloft" ] && [ -x "$ALOFT_BIN/aloft-sim" ] ||
        die "(a) needs aloft and aloft-sim in $ALOFT_BIN (make build)"
    echo "idf-check (a): tests/idf/linux_app for IDF_TARGET=linux"
    configure "$b" "$top/tests/idf/linux_app" linux -DCOMPONENTS="main;$cname"
    if ! ninja -C "$b" >"$b.build.log" 2>&1; then
        grep -E "error|warning|FAILED" "$b.build.log" | head -60 >&2
        die "(a) building the Linux app (full log: $b.build.log)"
    fi
    local n
    n=$(python3 "$top/tools/idf/entries.py" count "$b/compile_commands.json" "$top")
    echo "idf-check (a): built $b/aloft_linux_app.elf ($n files of aloft's)"
    local rollback=0
    ! grep -q '^CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE=y' "$b/sdkconfig" || rollback=1
    echo "idf-check (a): CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE $([ $rollback = 1 ] && echo y || echo 'not set (no bootloader options on Linux)'): a new image is expected $([ $rollback = 1 ] && echo PENDING_VERIFY || echo UNDEFINED)"
    ALOFT_IDF_ROLLBACK=$rollback ALOFT_IDF_APP=$b/aloft_linux_app.elf bash "$top/tools/idf/linux_upload.sh" "$out/linux-run" ||
        die "(a) the upload on IDF's Linux target"
}

# ------------------------------------------------------------ (b) cross
step_cross() {
    local target b n0=${#failed[@]}
    # Sizes as a release build has them (IDF's default is -Og for debugging).
    echo "CONFIG_COMPILER_OPTIMIZATION_SIZE=y" >"$out/size.defaults"
    [ -f "${ALOFT_IDF_MDNS:-}/include/mdns.h" ] ||
        { failure "(b) needs the mdns component: set ALOFT_IDF_MDNS to espressif/esp-protocols' components/mdns (tools/idf/mkenv.sh puts it in OUT/mdns)"; return 0; }
    for target in esp32 esp32c3; do
        b=$out/$target
        echo "idf-check (b): examples/esp-idf + component for $target"
        # COMPONENTS: only what the example needs (IDF's other components
        # would want their submodules); main requires all of them.
        IDF_MAINTAINER=1 configure "$b" "$top/examples/esp-idf" "$target" \
            -DSDKCONFIG_DEFAULTS="$top/examples/esp-idf/sdkconfig.defaults;$out/size.defaults" \
            -DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY \
            -DEXTRA_COMPONENT_DIRS="$ALOFT_IDF_MDNS" \
            -DCOMPONENTS="main;$cname;esp_wifi;esp_netif;esp_event;nvs_flash;mdns"
        python3 "$top/tools/idf/entries.py" compile "$b/compile_commands.json" "$top" "$b.compile.log" ||
            { cat "$b.compile.log" >&2; failure "(b) $target: aloft's files do not compile cleanly"; continue; }
        cat "$b.compile.log"
    done
    [ ${#failed[@]} = "$n0" ] || return 0   # no sizes of objects that failed
    python3 "$top/tools/idf/entries.py" size "$out/esp32/compile_commands.json" "$top" xtensa-esp32-elf-size
    python3 "$top/tools/idf/entries.py" size "$out/esp32c3/compile_commands.json" "$top" riscv32-esp-elf-size
}

# ------------------------------------------------------------ (c) idf5
step_idf5() {
    local chip
    if [ -z "${ALOFT_IDF5_LIBS:-}" ] || [ ! -d "$ALOFT_IDF5_LIBS/esp32/flags" ]; then
        echo "idf-check (c): SKIP: set ALOFT_IDF5_LIBS to esp32-arduino-libs (a directory with esp32/flags)"
        return 0
    fi
    [ -f "$out/esp32/compile_commands.json" ] || die "(c) takes its file list from (b): run it first"
    for chip in esp32 esp32c3; do
        echo "idf-check (c): component against IDF 5.x ($ALOFT_IDF5_LIBS: $(grep -m1 '^esp-idf' "$ALOFT_IDF5_LIBS/versions.txt" 2>/dev/null || echo '?')) for $chip"
        ALOFT_ESPCC_LIBC=newlib python3 "$top/tools/idf/entries.py" idf5 "$out/$chip/compile_commands.json" \
            "$top" "$ALOFT_IDF5_LIBS/$chip" "$out/idf5-$chip" "$out/idf5-$chip.log" ||
            { cat "$out/idf5-$chip.log" >&2; failure "(c) $chip: the component does not compile against IDF 5.x"; continue; }
        cat "$out/idf5-$chip.log"
    done
}

# ------------------------------------------------------------ (d) agent
step_agent() {
    local b=$out/agent-esp32 comps=$out/agent-components
    if [ -z "${ALOFT_ESP_MQTT:-}" ]; then
        echo "idf-check (d): SKIP: set ALOFT_ESP_MQTT to a checkout (or git dir) of espressif/esp-mqtt"
        return 0
    fi
    rm -rf "$comps" && mkdir -p "$comps/mqtt"
    if [ -f "$ALOFT_ESP_MQTT/CMakeLists.txt" ]; then
        cp -r "$ALOFT_ESP_MQTT/." "$comps/mqtt/"
    else
        git --git-dir="$ALOFT_ESP_MQTT" archive HEAD | tar -x -C "$comps/mqtt" ||
            die "(d) ALOFT_ESP_MQTT=$ALOFT_ESP_MQTT is neither a checkout nor a git dir"
    fi
    printf 'CONFIG_ALOFT_MQTT_AGENT=y\nCONFIG_COMPILER_OPTIMIZATION_SIZE=y\n' >"$out/agent.defaults"
    echo "idf-check (d): examples/esp-idf + component + esp-mqtt with the MQTT agent, esp32"
    IDF_MAINTAINER=1 configure "$b" "$top/examples/esp-idf" esp32 \
        -DSDKCONFIG_DEFAULTS="$top/examples/esp-idf/sdkconfig.defaults;$out/agent.defaults" \
        -DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY \
        -DEXTRA_COMPONENT_DIRS="$comps;$ALOFT_IDF_MDNS" \
        -DCOMPONENTS="main;$cname;esp_wifi;esp_netif;esp_event;nvs_flash;mqtt;mdns"
    grep -q '^CONFIG_ALOFT_MQTT_AGENT=y' "$b/sdkconfig" || { failure "(d) the agent is not on"; return 0; }
    python3 "$top/tools/idf/entries.py" compile "$b/compile_commands.json" "$top" "$b.compile.log" ||
        { cat "$b.compile.log" >&2; failure "(d) esp32: aloft's files with the agent do not compile cleanly"; return 0; }
    cat "$b.compile.log"
}

for s in $steps; do
    n=${#failed[@]} t0=$SECONDS
    case $s in
        linux) (step_linux) || failure "(a) linux" ;;
        cross) step_cross ;;
        idf5) step_idf5 ;;
        agent) step_agent ;;
        *) die "unknown step '$s' (linux cross idf5 agent)" ;;
    esac
    if [ ${#failed[@]} = "$n" ]; then r=PASS; else r=FAIL; fi
    echo "idf-check: step $s: $r ($((SECONDS - t0)) s)"
done
if [ ${#failed[@]} != 0 ]; then
    echo "idf-check: FAIL ($((SECONDS - t_all)) s): ${failed[*]}" >&2
    exit 1
fi
echo "idf-check: PASS: $steps ($((SECONDS - t_all)) s)"
