# aloft — top-level driver. `make test` and `make demo` are the two commands
# a fresh Debian machine needs; everything else is built by CMake into build/.

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
BUILD_WIN  ?= build-win
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 4
STRESS_RUNS ?= 10
STRESS_LOADED ?= 3
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_OPTS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

# Debian packages the build and tests need (binutils for the size report
# come with the cross compilers; openssl checks aloft's signatures).
DEBS = cmake make gcc clang pkg-config libcmocka-dev libmbedtls-dev zlib1g-dev libdivsufsort-dev libzopfli-dev \
       gcc-xtensa-lx106 gcc-riscv64-unknown-elf python3 openssl
# make bench compares delta patches with bsdiff and xdelta3 (bc does the sums).
DEBS += bsdiff xdelta3 bc
# The device web page: aloft-sim serves it with libmicrohttpd; its browser
# tests drive Debian's chromium with playwright-core (tests/web, `npm ci`).
DEBS += libmicrohttpd-dev chromium nodejs $(if $(shell command -v npm 2>/dev/null),,npm)
# make deb, and the test that builds the package (dpkg-buildpackage wants
# build-essential).
DEBS += debhelper dpkg-dev build-essential
# aloft fleet: the controller (SQLite, libmosquitto, cJSON) and its tests (a real
# mosquitto, lighttpd, the scripted device double on paho-mqtt).
DEBS += libsqlite3-dev libmosquitto-dev libcjson-dev mosquitto mosquitto-clients lighttpd \
        python3-paho-mqtt
# The MQTT agent (aloft-sim --mqtt over libmosquitto) and its tests' broker
# and clients.
DEBS += mosquitto mosquitto-clients libmosquitto-dev
# HTTP pull: aloft-sim downloads with libcurl (OpenSSL flavour) and reads
# release objects with cJSON; the tests serve images with lighttpd (HTTPS
# through its OpenSSL module).
DEBS += libcurl4-openssl-dev libcjson-dev lighttpd lighttpd-mod-openssl
# aloft.exe: the mingw-w64 cross compiler and zlib for it (make windows, make
# dist, and the normal build makes it for test_windows), run under wine.
DEBS += gcc-mingw-w64-x86-64 libz-mingw-w64-dev wine wine64
# mDNS discovery: aloft discover and NAME.local go through the Avahi daemon
# (libavahi-client); its test runs avahi-daemon and dbus-daemon in a network
# namespace of its own (unshare, ip).
DEBS += libavahi-client-dev avahi-daemon avahi-utils dbus iproute2 util-linux

# make idf-check (not part of make test): IDF's Linux target needs libbsd;
# without Espressif's toolchains, tools/idf/mkenv.sh and the Debian cross
# compilers stand in (picolibc for IDF 6, newlib's headers for IDF 5.x),
# kconfgen runs on Debian's click/rich/pyparsing, and mkenv generates
# TF-PSA-Crypto's driver dispatch with jinja2.
IDF_DEBS = cmake ninja-build python3 libbsd-dev gcc-xtensa-lx106 gcc-riscv64-unknown-elf \
           picolibc-xtensa-lx106-elf picolibc-riscv64-unknown-elf libnewlib-dev \
           python3-click python3-rich python3-rich-click python3-pyparsing python3-jinja2

PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: all deps build test test-unit test-asan size fuzz fuzz-build valgrind sweep soak stress demo bench clean
.PHONY: install deb idf-component idf-check idf-deps arduino-lib web-deps
.PHONY: windows dist

all: build

# Install missing packages when root; otherwise print the exact command.
deps idf-deps: PKGS = $(if $(filter idf-deps,$@),$(IDF_DEBS),$(DEBS))
deps idf-deps:
	@missing=""; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else \
	    echo "missing packages; run:"; echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

# playwright-core for the browser tests, pinned by tests/web/package-lock.json
# (no browser download: the tests use Debian's chromium).
web-deps:
	@[ tests/web/node_modules/.package-lock.json -nt tests/web/package-lock.json ] || \
	  (cd tests/web && npm ci --no-audit --no-fund)

build:
	@cmake -S . -B $(BUILD) $(CMAKE_OPTS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan:
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DALOFT_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ctest --output-on-failure -j $(JOBS)

test: deps
	@$(MAKE) --no-print-directory web-deps
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory size
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)

fuzz-build: build
	@cmake -S . -B $(BUILD_FUZZ) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALOFT_FUZZ=ON >/dev/null
	@cmake --build $(BUILD_FUZZ) -j $(JOBS)

# Every fuzz target for FUZZ_SECONDS each (make test runs a short smoke).
fuzz: fuzz-build
	@bash tools/fuzz.sh $(BUILD_FUZZ)/bin $(FUZZ_SECONDS)

# Compile lib/ freestanding for ESP8266 (Xtensa LX106) and ESP32-C3 (RV32IMC)
# and print .text/.data/.bss per module; proves the core needs no OS or libc.
size:
	@sh tools/size.sh

# The long power-cut sweep: every cut point of an update's life plus 500
# random multi-cut runs (make test runs 10).
sweep: build
	ALOFT_SWEEP_RUNS=500 $(BUILD)/tests/test_powercut_native

# Unit and integration tests once more under valgrind (not part of make test:
# it takes several minutes).
valgrind: build
	@bash tools/valgrind.sh $(BUILD)

# Flaky-test hunt (not part of make test: about half an hour): the whole
# suite STRESS_RUNS times with ctest -j 8, then STRESS_LOADED times while a
# CPU hog keeps every core busy; a pass/fail count per run and the tests
# that failed. (`bash tools/stress.sh build-asan` does the same for ASan.)
stress: build
	@bash tools/stress.sh $(BUILD) $(STRESS_RUNS) $(STRESS_LOADED)

demo: build
	@bash tools/demo.sh $(BUILD)/bin

# Upload speed on the simulator (about 12 minutes; bench/*.sh say what and how),
# then delta patch sizes on the fixture pairs against bsdiff, xdelta3, gzip,
# then time to update on an ESP32-like Wi-Fi link (bench/time_to_update.sh, ~11 min).
bench: build
	bash bench/native_bench.sh $(BUILD)/bin
	@echo; bash bench/delta_sizes.sh $(BUILD)/bin
	@if [ -f bench/espota_bench.sh ]; then echo; bash bench/espota_bench.sh $(BUILD)/bin; fi
	@echo; bash bench/time_to_update.sh $(BUILD)/bin

soak: build
	bash tests/soak/soak.sh $(BUILD)/bin

# The programs, libaloft.a, the headers, aloft.pc and the CMake package
# under $(DESTDIR)$(PREFIX) (bin/, lib/, include/aloft/).
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

# The ESP-IDF component with its sources inside (build/dist/), for the
# component registry or EXTRA_COMPONENT_DIRS.
idf-component:
	@sh tools/idf_component.sh $(BUILD)/dist

# Debian packages aloft and libaloft-dev under $(BUILD)/deb/ (tools/deb.sh).
deb:
	@bash tools/deb.sh $(BUILD)/deb

# aloft.exe for 64-bit Windows, cross-compiled with mingw-w64:
# $(BUILD_WIN)/bin/aloft.exe (README.md, section Windows).
windows:
	@cmake -S . -B $(BUILD_WIN) -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD_WIN) -j $(JOBS)

# The release files in $(BUILD)/dist: aloft-VERSION-windows-x86_64.zip,
# aloft-VERSION-linux-x86_64.tar.gz and the .deb files (tools/dist.sh).
dist:
	@bash tools/dist.sh $(BUILD) $(BUILD_WIN) $(BUILD)/dist

# The ESP-IDF component against a real ESP-IDF (docs/PORTING.md section 4):
# with IDF_PATH set (. $$IDF_PATH/export.sh), a Linux-target app receives an
# upload, the component compiles for esp32/esp32c3 (IDF_PATH) and against
# IDF 5.x (ALOFT_IDF5_LIBS); without IDF_PATH a SKIP line.
idf-check:
	@if [ -n "$$IDF_PATH" ]; then \
	  cmake -S . -B $(BUILD) $(CMAKE_OPTS) >/dev/null && \
	  cmake --build $(BUILD) -j $(JOBS) --target aloft aloft-sim >/dev/null; fi
	@ALOFT_BIN=$(abspath $(BUILD))/bin bash tools/idf/check.sh

# The Arduino library as one zip for the Arduino IDE and PlatformIO:
# $(BUILD)/dist/aloft-arduino-VERSION.zip (tools/arduino_pack.sh).
arduino-lib:
	@sh tools/arduino_pack.sh $(BUILD)/dist

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) $(BUILD_WIN)
