#!/bin/bash
# Build memcfg and run the whole test suite twice: a normal build, then an ASan+UBSan build.
# Installs the Debian 12 build dependencies first when some are missing (needs root for that).
# Usage (from anywhere): bash tests/run-all.sh
set -u
cd "$(dirname "$0")/.." || exit 1

PKGS="build-essential meson ninja-build pkg-config libyara-dev libssl-dev zlib1g-dev libbsd-dev
libjansson-dev check gdb python3-jsonschema valgrind clang libclang-rt-14-dev"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "run-all: missing packages:$missing (run as root to install them)" >&2
        exit 1
    fi
    echo "run-all: installing$missing"
    # shellcheck disable=SC2086
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $PKGS || exit 1
fi

# Sanitizer findings must fail the test that hit them, not scroll by.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"

# build_and_test DIR [MESON OPTIONS...]: returns the status of meson test
build_and_test() {
    local dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >"$LOGS/$dir.setup.log" 2>&1
    else
        meson setup "$dir" "$@" >"$LOGS/$dir.setup.log" 2>&1
    fi || { cat "$LOGS/$dir.setup.log"; echo "run-all: meson setup failed for $dir"; return 1; }
    meson compile -C "$dir" || { echo "run-all: build failed for $dir"; return 1; }
    meson test -C "$dir" --print-errorlogs --num-processes "$(nproc)" --timeout-multiplier 2 \
        2>&1 | tee "$LOGS/$dir.test.log"
    return "${PIPESTATUS[0]}"
}

# summary DIR NAME: Meson's own summary lines from the test log
summary() {
    echo "== $2"
    grep -E '^(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout): ' "$LOGS/$1.test.log" 2>/dev/null ||
        echo "no test summary (build failed)"
}

# MEMCFG_BUILD names the build directories (default build-ci and build-ci-asan).
B=${MEMCFG_BUILD:-build-ci}
LOGS=$B-logs
mkdir -p "$LOGS"
start=$(date +%s)
build_and_test "$B"
normal=$?
build_and_test "$B-asan" -Db_sanitize=address,undefined -Db_lundef=false
asan=$?

# Fuzz smoke pass: every libFuzzer harness for a few seconds (clang, ASan+UBSan; tests/fuzz).
FUZZ_BUILD="$B-fuzz" tests/fuzz/run.sh "${MEMCFG_FUZZ_SECONDS:-4}" 2>&1 | tee "$LOGS/fuzz.log"
fuzz=${PIPESTATUS[0]}

echo
summary "$B" "normal build"
summary "$B-asan" "ASan+UBSan build"
echo "== fuzz smoke: $([ "$fuzz" -eq 0 ] && echo ok || echo FAIL)"
echo "run-all: $(( $(date +%s) - start )) s"
[ "$normal" -eq 0 ] && [ "$asan" -eq 0 ] && [ "$fuzz" -eq 0 ]
