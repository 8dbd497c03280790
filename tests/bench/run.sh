#!/usr/bin/env bash
# Side-by-side benchmark: the yara CLI with exactly memcfg's bundled rules vs `memcfg scan`, on one
# large full minidump (1 and 2 threads) and on a batch of dumps (-p 1 vs -p 2). Prints wall time,
# MB/s, ratios, peak RSS (/usr/bin/time -v), memcfg's own timing probe (-v: rule compile,
# start-up to first scanned byte, scan, each decoder, decoders in all), and checks that the
# parallel scan's hits equal the one-scanner pass. Last, a decoder stress case with no target.
# Inputs are generated into a temp dir and deleted afterwards.
#
#   tests/bench/run.sh BUILD_DIR [DUMP_MIB=1024] [BATCH_N=16] [BATCH_MIB=64]
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR [DUMP_MIB] [BATCH_N] [BATCH_MIB]}" && pwd)
mib=${2:-1024} nbatch=${3:-16} bmib=${4:-64}
src=$(cd "$(dirname "$0")/../.." && pwd)
bench=$build/tests/bench/bench memcfg=$build/extractor/memcfg
tmp=$(mktemp -d /tmp/memcfg-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
command -v yara >/dev/null || { echo "run.sh: the yara CLI is needed (apt install yara)" >&2; exit 2; }

mkdir "$tmp/rules" "$tmp/batch"
mapfile -t rulefiles < <("$bench" rules "$tmp/rules")
"$bench" gen "$tmp/dump.dmp" "$mib" "$src/fixtures/dotnet"
for i in $(seq 1 "$nbatch"); do
  "$bench" gen "$tmp/batch/d$i.dmp" "$bmib" "$src/fixtures/dotnet" 2>/dev/null
done
size=$(stat -c %s "$tmp/dump.dmp")
cat "$tmp/dump.dmp" "$tmp"/batch/* >/dev/null   # warm page cache: memory, not disk, is measured

# run NAME CMD...: wall seconds and peak RSS via /usr/bin/time -v; output kept in $tmp/NAME.*
run() {
  local name=$1; shift
  /usr/bin/time -v -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || true
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tmp/$name.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/$name.time")
  eval "${name}_wall=$wall"
  printf '%-16s %8.2f s  %8.1f MB/s  peak RSS %7.1f MiB   %s\n' "$name" "$wall" \
    "$(echo "$size / 1000000 / $wall" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$*"
}

echo "== one dump: $(echo "$size / 1048576" | bc) MiB, rules: ${rulefiles[*]##*/}"
run yara1 yara -p 1 "${rulefiles[@]}" "$tmp/dump.dmp"
run yara2 yara -p 2 "${rulefiles[@]}" "$tmp/dump.dmp"
run memcfg1 "$memcfg" scan -v -p 1 -f json "$tmp/dump.dmp"
run memcfg2 "$memcfg" scan -v -p 2 -f json "$tmp/dump.dmp"
printf 'ratio memcfg -p 2 / yara (1 thread): %.2f   memcfg -p 1 / yara: %.2f\n' \
  "$(echo "$memcfg2_wall / $yara1_wall" | bc -l)" "$(echo "$memcfg1_wall / $yara1_wall" | bc -l)"
echo "memcfg -v probes (-p 2):"; grep '^memcfg:' "$tmp/memcfg2.err" | sed 's/^/  /'
# -v adds each input's elapsed_ms to the JSON: timing, not results, so it is left out of the check.
untimed() { grep -v '"elapsed_ms":' "$1"; }
if diff <(untimed "$tmp/memcfg1.out") <(untimed "$tmp/memcfg2.out") >"$tmp/p1p2.diff"; then
  echo "memcfg -p 1 and -p 2 output (elapsed_ms aside): identical"
else
  echo "memcfg -p 1 and -p 2 output: DIFFERENT"; head -20 "$tmp/p1p2.diff"; status=1
fi
echo "rules matched: yara CLI (file offsets, one block): $(sort -u "$tmp/yara1.out" | awk '{print $1}' | sort | tr '\n' ' ')"
echo "hits of the parallel scan vs the one-scanner pass:"
"$bench" check "$tmp/dump.dmp" | sed 's/^/  /' || status=1

echo "== batch: $nbatch x $bmib MiB"
bsize=$(cat "$tmp"/batch/* | wc -c); size=$bsize
run batch_yara1 yara -p 1 -r "${rulefiles[@]}" "$tmp/batch"
run batch_yara2 yara -p 2 -r "${rulefiles[@]}" "$tmp/batch"
run batch1 "$memcfg" scan -v -p 1 -f json "$tmp"/batch/*
run batch2 "$memcfg" scan -v -p 2 -f json "$tmp"/batch/*
printf 'batch speed-up memcfg -p 2 vs -p 1: %.2fx\n' "$(echo "$batch1_wall / $batch2_wall" | bc -l)"
echo "start-up (process start to rules ready, and to the first scanned byte):"
grep -m1 'rules:' "$tmp/memcfg1.err" | sed 's/^/  /'
grep -m1 -o 'first byte scanned [0-9.]* ms after start' "$tmp/memcfg1.err" | sed 's/^/  /'
echo "decoder share of wall time (-p 1 one dump):"
awk '/ decoders [0-9.]+ ms/ {match($0, / decoders [0-9.]+ ms/); split(substr($0, RSTART, RLENGTH), a, " ");
     match($0, /total [0-9.]+ ms/); split(substr($0, RSTART, RLENGTH), b, " ");
     printf "  %.2f%% (%s ms of %s ms)\n", 100*a[2]/b[2], a[2], b[2]}' "$tmp/memcfg1.err"
echo "the other phases (-p 1 one dump):"
grep -o 'image probe [0-9.]* ms\|hash [0-9.]* ms ([^)]*)\|records [0-9.]* ms' "$tmp/memcfg1.err" | sed 's/^/  /'

echo "== decoder stress (no target): every fixture assembly in one $bmib MiB dump, look-alikes and templates included, no heap"
"$bench" gen "$tmp/stress.dmp" "$bmib" "$src/fixtures/dotnet" --all 2>/dev/null
size=$(stat -c %s "$tmp/stress.dmp")
run stress "$memcfg" scan -v -p 2 -f json "$tmp/stress.dmp"
grep 'decoder ' "$tmp/stress.err" | sed 's/^/  /'
exit ${status:-0}
