#!/bin/bash
# Build an ESP-IDF tree that make idf-check can use on a machine without an
# ESP-IDF install, from git directories of the public repositories (none of
# it goes into aloft's repository):
#
#   tools/idf/mkenv.sh OUT GITDIRS
#
# GITDIRS holds <owner>+<name>/repo git directories of espressif/esp-idf,
# espressif/esp-idf-kconfig, espressif/esp-lwip, espressif/tlsf,
# espressif/esp32-arduino-libs, espressif/esp-protocols, Mbed-TLS/mbedtls,
# Mbed-TLS/TF-PSA-Crypto and Mbed-TLS/mbedtls-framework. OUT gets:
#   esp-idf/        IDF's HEAD without examples/ and docs/; its lwip, tlsf and
#                   mbedtls submodules from esp-lwip 2.1.3-esp, tlsf idf and
#                   mbedTLS 4.0 + TF-PSA-Crypto 1.0 headers (see below)
#   kconfig/        esp-idf-kconfig (kconfgen) and pylib/esp_pylib, a stand-in
#                   for the esp-pylib logging it imports (not packaged in Debian)
#   arduino-libs/   esp32 and esp32c3 of esp32-arduino-libs idf-release/v5.1
#   mdns/           esp-protocols' components/mdns (espressif/mdns, which the
#                   component requires on the chips)
#   bin/            esp-cc.sh under the ESP toolchain names
# Then: IDF_PATH=OUT/esp-idf ALOFT_IDF_ENV=OUT make idf-check
set -eu
out=$1 src=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

extract() { # gitdir rev dest [pathspec...]
    local g=$1 rev=$2 dest=$3; shift 3
    rm -rf "$dest"; mkdir -p "$dest"
    git -C "$src/$g/repo" archive "$rev" -- "$@" | tar -x -C "$dest"
}

idf=$out/esp-idf
echo "mkenv: esp-idf $(git -C "$src/espressif+esp-idf/repo" rev-parse HEAD)"
# Large binary examples are missing from partial clones; aloft needs neither.
extract espressif+esp-idf HEAD "$idf" . ':!examples' ':!docs'
git -C "$src/espressif+esp-idf/repo" rev-parse HEAD > "$idf/.aloft-commit"   # no .git in the copy
extract espressif+esp-lwip origin/2.1.3-esp "$idf/components/lwip/lwip" . 2>/dev/null ||
    extract espressif+esp-lwip 2.1.3-esp "$idf/components/lwip/lwip" .
extract espressif+tlsf idf "$idf/components/heap/tlsf" .

# mbedTLS: IDF master pins Espressif's fork of mbedTLS 4.1 (TF-PSA-Crypto
# 1.1), which is not public as a snapshot here; the public mbedTLS 4.0.0
# and TF-PSA-Crypto 1.0.0 have the same PSA API. IDF's component adds the
# library with add_subdirectory and names its targets; the CMakeLists below
# defines them: empty for the chips (only aloft's files are compiled there),
# and for the Linux target, whose app is linked and run, TF-PSA-Crypto's
# core and builtin drivers built with IDF's configuration (its generated
# files made by its own scripts; python3-jinja2). Two IDF port files written
# for 4.1 (esp_timing.c, esp_psa_key_file.c) are left out on Linux.
mb=$idf/components/mbedtls/mbedtls
extract Mbed-TLS+mbedtls v4.0.0 "$mb" include library
extract Mbed-TLS+TF-PSA-Crypto v1.0.0 "$mb/tf-psa-crypto" . ':!tests'
fw=$(git -C "$src/Mbed-TLS+TF-PSA-Crypto/repo" ls-tree v1.0.0 framework | awk '{print $3}')
extract Mbed-TLS+mbedtls-framework "$fw" "$mb/tf-psa-crypto/framework" .
(cd "$mb/tf-psa-crypto" && python3 scripts/generate_driver_wrappers.py && python3 scripts/generate_config_checks.py)
mkdir -p "$mb/tf-psa-crypto/extras"
cat > "$mb/CMakeLists.txt" <<'CM'
# Stand-in for mbedTLS 4.1 (made by aloft's tools/idf/mkenv.sh): the targets
# IDF's mbedtls component expects, with mbedTLS 4.0 / TF-PSA-Crypto 1.0
# headers; on the Linux target tfpsacrypto is the real library.
set(_mb ${CMAKE_CURRENT_SOURCE_DIR})
set(_tp ${_mb}/tf-psa-crypto)
if(IDF_TARGET STREQUAL "linux")
    # TF-PSA-Crypto 1.0's generated driver dispatch knows only its builtin
    # drivers, not the Espressif MD5 driver IDF's configuration selects: IDF's
    # configuration, then the builtin MD5.
    file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/standin_config.h
         "#include \"mbedtls/esp_config.h\"\n#undef ESP_MD5_DRIVER_ENABLED\n#undef MBEDTLS_PSA_ACCEL_ALG_MD5\n")
    set(TF_PSA_CRYPTO_USER_CONFIG_FILE ${CMAKE_CURRENT_BINARY_DIR}/standin_config.h PARENT_SCOPE)
endif()
function(set_config_files_compile_definitions target)   # as mbedTLS 4.1 has it
    foreach(v MBEDTLS_CONFIG_FILE MBEDTLS_USER_CONFIG_FILE TF_PSA_CRYPTO_CONFIG_FILE
              TF_PSA_CRYPTO_USER_CONFIG_FILE)
        if(${v})
            target_compile_definitions(${target} PUBLIC ${v}="${${v}}")
        endif()
    endforeach()
endfunction()
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/empty.c "")
foreach(t mbedtls mbedx509 tfpsacrypto builtin everest p256-m extras platform utilities)
    add_library(${t} STATIC ${CMAKE_CURRENT_BINARY_DIR}/empty.c)
    target_include_directories(${t} PUBLIC ${_mb}/include ${_tp}/include ${_tp}/drivers/builtin/include
                               ${_tp}/drivers/everest/include ${_tp}/drivers/p256-m)
endforeach()
if(IDF_TARGET STREQUAL "linux")
    file(GLOB _src ${_tp}/core/*.c ${_tp}/drivers/builtin/src/*.c ${_tp}/drivers/p256-m/*.c
         ${_tp}/drivers/p256-m/p256-m/*.c ${_tp}/drivers/everest/library/*.c)
    # its checks are of 1.0's options, IDF's configuration is 4.1's
    list(FILTER _src EXCLUDE REGEX "/tf_psa_crypto_config\\.c$")
    target_sources(tfpsacrypto PRIVATE ${_src})
    target_include_directories(tfpsacrypto PRIVATE ${_tp}/core ${_tp}/drivers/builtin/src
        ${_tp}/drivers/p256-m/p256-m ${_tp}/drivers/everest/include/tf-psa-crypto/private/everest
        ${_mb}/library)
    function(_aloft_standin_drop)
        foreach(t mbedtls __idf_mbedtls)
            get_target_property(s ${t} SOURCES)
            list(FILTER s EXCLUDE REGEX "/(esp_timing|esp_psa_key_file)\\.c$")
            set_property(TARGET ${t} PROPERTY SOURCES ${s})
        endforeach()
    endfunction()
    cmake_language(DEFER DIRECTORY ${_mb}/.. CALL _aloft_standin_drop)
endif()
CM

extract espressif+esp-idf-kconfig HEAD "$out/kconfig" .
mkdir -p "$out/pylib/esp_pylib"
cat > "$out/pylib/esp_pylib/__init__.py" <<'PY'
"""Stand-in for esp-pylib (made by aloft's tools/idf/mkenv.sh): the logger,
exception hook and click option esp-idf-kconfig imports, printing plainly."""
PY
cat > "$out/pylib/esp_pylib/excepthook.py" <<'PY'
def install_exception_reporting(*args, **kwargs):
    pass
PY
cat > "$out/pylib/esp_pylib/cli_options.py" <<'PY'
import click


class EspRichGroup(click.Group):
    pass


class MutuallyExclusiveOption(click.Option):
    def __init__(self, *args, **kwargs):
        kwargs.pop("exclusive_with", None)
        super().__init__(*args, **kwargs)


class OptionEatAll(click.Option):
    def __init__(self, *args, **kwargs):
        kwargs.pop("save_other_options", None)
        super().__init__(*args, **kwargs)
PY
cat > "$out/pylib/esp_pylib/cli_types.py" <<'PY'
import click


class AnyIntType(click.ParamType):
    name = "integer"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return int(value, 0)
        except ValueError:
            self.fail(f"{value!r} is not an integer", param, ctx)
PY
cat > "$out/pylib/esp_pylib/errors.py" <<'PY'
class FatalError(RuntimeError):
    pass
PY
cat > "$out/pylib/esp_pylib/logger.py" <<'PY'
import enum
import sys


class Verbosity(enum.IntEnum):
    SILENT = 0
    NORMAL = 1
    VERBOSE = 2


class EspLog:
    instance = None

    def __init__(self):
        self.info_stream = sys.stdout
        self.verbosity = Verbosity.NORMAL
        self.console_options = {}

    @classmethod
    def set_logger(cls, logger):
        cls.instance = logger

    def set_info_stream(self, stream):
        self.info_stream = stream

    def set_console_options(self, **kwargs):
        self.console_options.update(kwargs)

    def set_verbosity(self, v):
        self.verbosity = v

    def _out(self, prefix, *args, stream=None, **kwargs):
        print(prefix + " ".join(str(a) for a in args), file=stream or self.info_stream)

    def print(self, *args, **kwargs):
        self._out("", *args)

    def note(self, *args, **kwargs):
        if self.verbosity >= Verbosity.NORMAL:
            self._out("Note: ", *args)

    def debug(self, *args, **kwargs):
        if self.verbosity >= Verbosity.VERBOSE:
            self._out("Debug: ", *args)

    def hint(self, *args, **kwargs):
        self._out("Hint: ", *args)

    def warn(self, *args, **kwargs):
        self._out("Warning: ", *args, stream=sys.stderr)

    def err(self, *args, **kwargs):
        self._out("Error: ", *args, stream=sys.stderr)

    def die(self, *args, **kwargs):
        self.err(*args)
        sys.exit(kwargs.get("exit_code", 1))


class _Log:
    def __getattr__(self, name):
        if EspLog.instance is None:
            EspLog.instance = EspLog()
        return getattr(EspLog.instance, name)


log = _Log()
PY

extract espressif+esp32-arduino-libs idf-release/v5.1 "$out/arduino-libs" versions.txt \
    esp32/include esp32/flags esp32/qio_qspi/include esp32/sdkconfig \
    esp32c3/include esp32c3/flags esp32c3/qio_qspi/include esp32c3/sdkconfig

extract espressif+esp-protocols HEAD "$out/mdns.tmp" components/mdns
rm -rf "$out/mdns" && mv "$out/mdns.tmp/components/mdns" "$out/mdns" && rm -rf "$out/mdns.tmp"

mkdir -p "$out/bin"
cp "$here/esp-cc.sh" "$out/bin/esp-cc.sh"
for p in xtensa-esp32-elf riscv32-esp-elf; do
    for t in gcc g++ cc c++ gcc-ar gcc-ranlib gcc-nm ar ranlib nm size objdump objcopy readelf ld as strip; do
        ln -sf esp-cc.sh "$out/bin/$p-$t"
    done
done
echo "mkenv: done: IDF_PATH=$idf ALOFT_IDF_ENV=$out"
