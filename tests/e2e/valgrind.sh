#!/bin/bash
# The command line under valgrind (memcheck): every subcommand and output format, every container,
# a batch with bad inputs, threads, a deadline, -R rules and the feed exports. An invalid read or
# write, a use of uninitialised memory, a bad free or a definite/indirect leak fails the run
# (exit 99 from valgrind); the output must also equal the run without valgrind. Skipped (77)
# when valgrind is not installed; meson runs it only in builds without sanitizers.
# Usage: valgrind.sh MEMCFG MKFIXTURE
set -u

MEMCFG=$1
MKFIXTURE=$2
command -v valgrind >/dev/null || { echo "valgrind not installed: skipped"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/memcfg-vg.XXXXXX")
trap 'rm -rf "$T"' EXIT
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --track-origins=no --num-callers=30)

passed=0
failed=0
n=0
# vg ARGS...: memcfg ARGS under valgrind, then without; memcheck clean, same exit status, same
# standard output (elapsed times aside; with CMP=0 the output is not compared: STIX and MISP
# documents carry the time they were written)
vg() {
    n=$((n + 1))
    "${VG[@]}" "$MEMCFG" "$@" >"$T/vg.out" 2>"$T/vg.err"
    local rc=$?
    "$MEMCFG" "$@" >"$T/plain.out" 2>/dev/null
    local want=$?
    if [ "$rc" -eq 99 ] || grep -q '^==[0-9]*==' "$T/vg.err"; then
        failed=$((failed + 1)); echo "FAIL - memcheck: memcfg $*"
        grep '^==[0-9]*==' "$T/vg.err" | head -40 | sed 's/^/    /'
    elif [ "$rc" -ne "$want" ]; then
        failed=$((failed + 1)); echo "FAIL - exit $rc under valgrind, $want without: memcfg $*"
    elif [ "${CMP:-1}" = 1 ] &&
        ! cmp -s <(grep -v '"elapsed_ms"' "$T/vg.out") <(grep -v '"elapsed_ms"' "$T/plain.out"); then
        failed=$((failed + 1)); echo "FAIL - output differs under valgrind: memcfg $*"
    else
        passed=$((passed + 1)); echo "ok - memcheck clean: memcfg $*"
    fi
}

"$MKFIXTURE" "$T/example.dmp" >/dev/null 2>&1
for f in minidump cuckoo elfcore raw; do "$MKFIXTURE" "$T/ex-$f.bin" --format "$f" >/dev/null 2>&1; done
"$MKFIXTURE" "$T/ex-gzip.dmp.gz" --gzip >/dev/null 2>&1
head -c 8192 /dev/zero | tr '\0' 'A' >"$T/plain.bin"
: >"$T/empty.dmp"
printf 'MDMP\223\247\0\0' >"$T/truncated.dmp"
head -c 300 "$T/example.dmp" >"$T/cut.dmp"
printf 'rule vg_marker { strings: $a = "Remcos" nocase condition: $a }\n' >"$T/good.yar"
printf 'rule broken { condition: nope }\n' >"$T/bad.yar"

vg --version
vg list-families -f json
vg schema
vg check-rules -R "$T/good.yar"
vg check-rules -R "$T/bad.yar"
vg info -f json "$T/example.dmp" "$T/ex-cuckoo.bin" "$T/ex-elfcore.bin" "$T/empty.dmp"
vg info -f json --input-format raw --base 0x400000 "$T/ex-raw.bin"
vg scan "$T/example.dmp"
vg scan -v -p 1 -f json "$T/example.dmp"
vg scan -p 2 -f json "$T/example.dmp"
for f in minidump cuckoo elfcore; do vg scan -f json "$T/ex-$f.bin"; done
vg scan -f json --input-format raw --base 0x400000 "$T/ex-raw.bin"
vg scan -f json "$T/ex-gzip.dmp.gz"
vg scan -p 2 -f ndjson "$T/example.dmp" "$T/plain.bin" "$T/empty.dmp" "$T/truncated.dmp" "$T/cut.dmp"
vg scan -f json --kdf-budget 1 "$T/example.dmp"
vg scan -f ndjson --deadline 0.000001 -p 1 "$T/example.dmp" "$T/ex-cuckoo.bin"
vg scan -f json -R "$T/good.yar" "$T/example.dmp"
vg scan -f json -F remcos --defang "$T/example.dmp"
for f in maco cape; do vg scan -f "$f" "$T/example.dmp"; done
CMP=0 vg scan -f stix "$T/example.dmp"
CMP=0 vg scan -f misp "$T/example.dmp"
"$MEMCFG" scan -f ndjson -o "$T/saved.ndjson" "$T/example.dmp" "$T/ex-elfcore.bin" 2>/dev/null
CMP=0 vg export -f stix "$T/saved.ndjson"
CMP=0 vg export -f misp "$T/saved.ndjson"
vg correlate -f json "$T/saved.ndjson"

echo "$passed passed, $failed failed ($n runs under valgrind)"
[ "$failed" -eq 0 ]
