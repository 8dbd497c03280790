#!/bin/bash
# Hostile batch: 1,000 inputs mutated deterministically from the fixture writers' snapshots (every
# container, gzip) and the committed .NET builds, scanned in one `memcfg scan -f ndjson -r DIR`
# run. Every input must be accounted for (an error record for each failed input, one stderr line
# each, the json run listing all 1,000), the run must exit 0 or 3, and peak memory stays bounded.
# Usage: mutated.sh MEMCFG MKFIXTURE [SRCDIR]. Needs bash, python3.
set -u
MEMCFG=$1
MKFIXTURE=$2
SRC=${3:-${MEMCFG_SRCDIR:-.}}
N=${MEMCFG_MUTATED_N:-1000}
MAX_RSS_KB=${MEMCFG_MUTATED_MAX_RSS_KB:-1048576}
T=$(mktemp -d "${TMPDIR:-/tmp}/memcfg-mutated.XXXXXX")
trap 'rm -rf "$T"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }

mkdir -p "$T/base" "$T/in"
for f in minidump cuckoo elfcore raw; do
    "$MKFIXTURE" "$T/base/ex-$f.bin" --format "$f" >/dev/null 2>&1
done
"$MKFIXTURE" "$T/base/ex-gzip.gz" --gzip >/dev/null 2>&1
cp "$SRC"/fixtures/dotnet/*.exe "$T/base/" 2>/dev/null
check "base inputs generated" test "$(find "$T/base" -type f -size +0 | wc -l)" -ge 5

# Mutations: byte flips, 32/64-bit fields set to hostile values, truncation, a duplicated or
# deleted block, zeroed stretches. The same seed always gives the same inputs.
python3 - "$T/base" "$T/in" "$N" <<'PY'
import os, random, struct, sys
base, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(os.listdir(base))
blobs = [open(os.path.join(base, f), 'rb').read() for f in files]
rng = random.Random(20260722)
HOSTILE = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0, 0x10000, 0x1000]
for i in range(n):
    k = i % len(blobs)
    b = bytearray(blobs[k])
    for _ in range(rng.randint(1, 6)):
        if not b:
            break
        op = rng.randrange(7)
        at = rng.randrange(len(b))
        if op == 0:
            b[at] ^= 1 << rng.randrange(8)
        elif op == 1 and at + 4 <= len(b):
            b[at:at + 4] = struct.pack('<I', rng.choice(HOSTILE))
        elif op == 2 and at + 8 <= len(b):
            b[at:at + 8] = struct.pack('<Q', rng.choice(HOSTILE) << rng.choice((0, 32)))
        elif op == 3:
            del b[at:]
        elif op == 4:
            ln = rng.randint(1, 512)
            b[at:at] = b[at:at + ln]
        elif op == 5:
            del b[at:at + rng.randint(1, 512)]
        else:
            ln = rng.randint(1, 4096)
            b[at:at + ln] = bytes(len(b[at:at + ln]))
    with open(os.path.join(out, 'm%04d-%s' % (i, files[k])), 'wb') as f:
        f.write(b)
PY
check "$N mutated inputs written" test "$(find "$T/in" -type f | wc -l)" -eq "$N"

start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$T/rss" "$MEMCFG" scan -f ndjson -p 2 --deadline 600 -a 20 -r "$T/in" \
    >"$T/out.ndjson" 2>"$T/err"
rc=$?
elapsed=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
rss=$(tail -1 "$T/rss")
echo "# $N inputs in ${elapsed} s, peak RSS ${rss} KB"
check "the batch exits 0 or 3 (exit $rc)" test "$rc" -eq 0 -o "$rc" -eq 3
check "peak RSS ${rss} KB stays under ${MAX_RSS_KB} KB" test "${rss:-999999999}" -lt "$MAX_RSS_KB"
check "every error record has one stderr line, every record parses" python3 - "$T/out.ndjson" "$T/err" "$T/in" <<'PY'
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
errs = [r["input"]["path"] for r in recs if r["record_type"] == "error"]
lines = [l for l in open(sys.argv[2]) if l.startswith("memcfg: ")]
assert len(set(errs)) == len(errs), "two error records for one input"
assert len(lines) == len(errs), (len(lines), len(errs))
names = set(os.listdir(sys.argv[3]))
for r in recs:
    assert os.path.basename(r["input"]["path"]) in names, r["input"]["path"]
    assert r["record_type"] in ("config", "error")
    if r["record_type"] == "error":
        assert r["error"]["code"] and r["error"]["message"], r
PY
# Every input accounted for: the json document lists each one, ok or error, and its errors are
# exactly the ndjson error records.
"$MEMCFG" scan -f json -p 2 -a 20 -r "$T/in" >"$T/out.json" 2>/dev/null
check "all $N inputs accounted for (a status each; errors match the ndjson run)" python3 - "$T/out.json" "$T/out.ndjson" "$N" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[3])
ins = d["inputs"]
assert len(ins) == n and d["stats"]["inputs"] == n, len(ins)
assert all(i["status"] in ("ok", "error", "timeout", "partial") for i in ins), {i["status"] for i in ins}
bad = sorted(i["path"] for i in ins if i["status"] == "error")
nd = sorted(json.loads(l)["input"]["path"] for l in open(sys.argv[2]) if '"record_type":"error"' in l)
assert bad == nd, (len(bad), len(nd))
PY

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
