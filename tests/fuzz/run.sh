#!/bin/bash
# Build the libFuzzer harnesses (clang, ASan+UBSan) and run each for SECONDS (default 60).
# Usage: tests/fuzz/run.sh [SECONDS] [HARNESS...]
# Environment: FUZZ_BUILD (build directory, default build-fuzz), FUZZ_JOBS (harnesses run at
# once, default nproc). Corpora grow in $FUZZ_BUILD/fuzz-corpus/<harness> across runs (seeded
# from the fixture writers and tests/data/regress/<harness> each time); crashes, leaks and
# timeouts are written to $FUZZ_BUILD/fuzz-artifacts/<harness>/ and make the script fail.
# Prints executions per harness.
# FUZZ_KDF_CACHE (default $FUZZ_BUILD/fuzz-kdf-cache): fuzz_decoders' on-disk PBKDF2 memo, one
# process per file (a second fuzz_decoders on the same corpus needs its own, a copy will do).
set -u
cd "$(dirname "$0")/../.." || exit 1
SECONDS_EACH=${1:-60}
shift 2>/dev/null
B=${FUZZ_BUILD:-build-fuzz}
JOBS=${FUZZ_JOBS:-$(nproc)}

if [ ! -f "$B/build.ninja" ]; then
    CC=clang meson setup "$B" -Dfuzz=true -Dtests=false -Dbench=false \
        -Db_sanitize=address,undefined -Db_lundef=false >"$B.setup.log" 2>&1 ||
        { cat "$B.setup.log"; echo "fuzz: meson setup failed (needs clang, libclang-rt-14-dev)"; exit 1; }
fi
ninja -C "$B" >"$B.build.log" 2>&1 || { tail -30 "$B.build.log"; echo "fuzz: build failed"; exit 1; }

ALL="fuzz_minidump fuzz_cuckoo fuzz_elfcore fuzz_pefile fuzz_raw fuzz_compressed fuzz_sniff
fuzz_pe fuzz_dotnet fuzz_stackstr fuzz_decoders fuzz_json"
TARGETS=${*:-$ALL}
SEEDS="$B/fuzz-seeds"
rm -rf "$SEEDS"
"$B/tests/fuzz/fuzz_seeds" "$SEEDS" fixtures/dotnet || { echo "fuzz: seed generation failed"; exit 1; }

# -max_len per input shape: containers hold a few 4 KiB pages around their headers; the PE and
# .NET readers and the decoders take whole fixture images (the largest seeds are 40 KiB); code
# snippets and config strings are short.
max_len_of() {
    case $1 in
        fuzz_pefile|fuzz_raw) echo 16384 ;; fuzz_pe) echo 32768 ;;
        fuzz_dotnet|fuzz_decoders) echo 65536 ;; fuzz_stackstr|fuzz_json) echo 4096 ;;
        *) echo 32768 ;;
    esac
}

# fuzz_decoders: its engine's per-input deadline is 20 s (a .NET input may try dozens of PBKDF2
# keys, ~0.3 s each under ASan, before it); only inputs that overrun it are reported as slow.
slow_of() {
    case $1 in fuzz_decoders) echo 20 ;; *) echo 10 ;; esac
}

dict_of() {
    case $1 in
        fuzz_pe) echo pe ;; fuzz_dotnet) echo dotnet ;; fuzz_stackstr) echo stackstr ;;
        fuzz_decoders) echo decoders ;; fuzz_json) echo json ;; *) echo memdump ;;
    esac
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
# fuzz_decoders keeps every PBKDF2 derivation here, so re-reading its corpus costs none again.
export FUZZ_KDF_CACHE="${FUZZ_KDF_CACHE:-$B/fuzz-kdf-cache}"

# Entropic scheduling keeps every feature seen fewer than entropic_feature_frequency_threshold
# times (default 255) in a list that libFuzzer searches linearly for each rare feature of each
# execution; with these corpora (10-35k features) that search was half of the time of the
# container harnesses (perf: fuzzer::InputCorpus::UpdateFeatureFrequency). 32 keeps the
# schedule (the rarest features still steer it) and the list short.
ENTROPIC="-entropic_feature_frequency_threshold=32"

# run_one HARNESS: one libFuzzer session; its log is $B/fuzz-logs/HARNESS.log
run_one() {
    local t=$1 corpus="$B/fuzz-corpus/$1" art="$B/fuzz-artifacts/$1/"
    mkdir -p "$corpus" "$art"
    [ -d "$SEEDS/$t" ] && cp -n "$SEEDS/$t"/* "$corpus"/ 2>/dev/null
    # and the inputs kept in tests/data/regress (crashes, and corpus inputs reaching deep paths)
    [ -d "tests/data/regress/$t" ] && cp -n "tests/data/regress/$t"/* "$corpus"/ 2>/dev/null
    "$B/tests/fuzz/$t" -max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=2560 \
        -max_len="$(max_len_of "$t")" -report_slow_units="$(slow_of "$t")" \
        -print_final_stats=1 $ENTROPIC -dict="tests/fuzz/$(dict_of "$t").dict" -artifact_prefix="$art" \
        "$corpus" >"$B/fuzz-logs/$t.log" 2>&1
}

mkdir -p "$B/fuzz-logs"
running=0
for t in $TARGETS; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

status=0
printf '%-16s %12s %8s  %s\n' harness execs exec/s result
for t in $TARGETS; do
    log="$B/fuzz-logs/$t.log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    found=$(find "$B/fuzz-artifacts/$t" -type f 2>/dev/null | wc -l)
    if [ "$found" -gt 0 ] || ! grep -q '^Done ' "$log"; then
        result="FAIL ($found artifact(s); see $log)"; status=1
    else
        result=ok
    fi
    printf '%-16s %12s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$result"
done
exit "$status"
