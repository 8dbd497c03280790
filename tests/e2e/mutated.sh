#!/bin/bash
# Hostile batch: 1,000 inputs mutated deterministically from the fixture writers' snapshots (every
# container, gzip) and the committed .NET builds, scanned in one `memcfg scan -f json -r DIR`
# run. Every input must be accounted for (the document lists all 1,000 with a status, an error
# record and one stderr line for each failed input), the run must exit 0 or 3, and peak memory
# stays bounded.
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
# Every base is used, but a decoded Quasar 1.4 (the containers' payload) or .NET build costs a
# PBKDF2, which dominates under ASan: each .NET build and each full container gives a few inputs,
# and the bulk are the containers with the Quasar markers renamed (same structure, no decode).
python3 - "$T/base" "$T/in" "$N" <<'PY'
import gzip, os, random, struct, sys
base, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(os.listdir(base))
blobs = {f: open(os.path.join(base, f), 'rb').read() for f in files}
MARKERS = [b'ENCRYPTIONKEY', b'RECONNECTDELAY', b'ENABLELOGGER', b'STARTUPKEY', b'HIDELOGDIRECTORY',
           b'LOGDIRECTORYNAME', b'SERVERCERTIFICATESTR', b'Quasar.Client.Config', b'xClient.Config',
           bytes.fromhex('BFEB1E56FBCD973BB219022430A57843003D5644D21E62B9'),
           'QSR_MUTEX_'.encode('utf-16-le')]
def undetectable(b):
    for m in MARKERS:
        b = b.replace(m, bytes(x ^ 0x20 if 0x41 <= x <= 0x5a else x ^ 0x5a for x in m))
    return b
plan = []
for f in files:
    if f.endswith('.exe'):
        plan += [(f, blobs[f])] * 2
    else:
        plan += [(f, blobs[f])] * 4
cheap = []
for f in files:
    if f.endswith('.gz'):
        cheap.append(('plain-' + f, gzip.compress(undetectable(gzip.decompress(blobs[f])), mtime=0)))
    elif not f.endswith('.exe'):
        cheap.append(('plain-' + f, undetectable(blobs[f])))
assert len(plan) < n and cheap
i = 0
while len(plan) < n:
    plan.append(cheap[i % len(cheap)])
    i += 1
rng = random.Random(20260722)
HOSTILE = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0, 0x10000, 0x1000]
for i, (name, blob) in enumerate(plan[:n]):
    b = bytearray(blob)
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
    with open(os.path.join(out, 'm%04d-%s' % (i, name)), 'wb') as f:
        f.write(b)
PY
check "$N mutated inputs written" test "$(find "$T/in" -type f | wc -l)" -eq "$N"

# One pass: the json document lists every input with its status and holds every record, so
# each input is accounted for and each error record is checked against its stderr line.
start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$T/rss" "$MEMCFG" scan -f json -p 2 --deadline 600 -a 20 -r "$T/in" \
    >"$T/out.json" 2>"$T/err"
rc=$?
elapsed=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
rss=$(tail -1 "$T/rss")
echo "# $N inputs in ${elapsed} s, peak RSS ${rss} KB"
check "the batch exits 0 or 3 (exit $rc)" test "$rc" -eq 0 -o "$rc" -eq 3
check "peak RSS ${rss} KB stays under ${MAX_RSS_KB} KB" test "${rss:-999999999}" -lt "$MAX_RSS_KB"
check "all $N inputs accounted for; one error record and one stderr line per failed input" python3 - "$T/out.json" "$T/err" "$T/in" "$N" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[4])
names = set(os.listdir(sys.argv[3]))
ins = d["inputs"]
assert len(ins) == n and d["stats"]["inputs"] == n, len(ins)
assert sorted(os.path.basename(i["path"]) for i in ins) == sorted(names), "inputs differ from the folder"
assert all(i["status"] in ("ok", "error", "timeout", "partial") for i in ins), {i["status"] for i in ins}
recs = d["records"]
errs = [r["input"]["path"] for r in recs if r["record_type"] == "error"]
assert len(set(errs)) == len(errs), "two error records for one input"
lines = [l for l in open(sys.argv[2]) if l.startswith("memcfg: ")]
assert len(lines) == len(errs), (len(lines), len(errs))
bad = sorted(i["path"] for i in ins if i["status"] == "error")
assert bad == sorted(errs), (len(bad), len(errs))
for r in recs:
    assert os.path.basename(r["input"]["path"]) in names, r["input"]["path"]
    assert r["record_type"] in ("config", "error")
    if r["record_type"] == "error":
        assert r["error"]["code"] and r["error"]["message"], r
PY

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
