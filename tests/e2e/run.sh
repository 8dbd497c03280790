#!/bin/bash
# End-to-end tests of the memcfg command line: every subcommand, output formats, ordering under
# threads, path lists, recursion, bad inputs in a batch, and the exit codes of memcfg(1).
# Usage: run.sh MEMCFG MKFIXTURE. Inputs are generated into a temporary directory.
set -u

MEMCFG=$1
MKFIXTURE=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/memcfg-e2e.XXXXXX")
trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $1"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }

# run CMD...: runs memcfg, leaving stdout in $T/out, stderr in $T/err and the status in $rc
run() { "$MEMCFG" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
# expect_rc DESCRIPTION WANT: compares the status of the last run
expect_rc() {
    if [ "$rc" -eq "$2" ]; then ok "$1 (exit $2)"; else
        not_ok "$1: exit $rc, want $2"; sed 's/^/    stderr: /' "$T/err" | head -5; fi
}
# py SCRIPT FILE: a Python check over a JSON or NDJSON file; exits non-zero when it fails
py() { python3 -c "$1" "$2"; }

# ---------------------------------------------------------------- inputs
CONTAINERS="minidump cuckoo elfcore raw"
"$MKFIXTURE" "$T/example.dmp" >/dev/null 2>&1
check "mkfixture writes the example dump" test -s "$T/example.dmp"
for f in $CONTAINERS; do
    "$MKFIXTURE" "$T/ex-$f.bin" --format "$f" >/dev/null 2>&1
    check "mkfixture writes a $f snapshot" test -s "$T/ex-$f.bin"
done
"$MKFIXTURE" "$T/ex-gzip.dmp.gz" --gzip >/dev/null 2>&1
check "mkfixture writes a gzip snapshot" test -s "$T/ex-gzip.dmp.gz"

# a raw snapshot that holds no configuration
head -c 8192 /dev/zero | tr '\0' 'A' >"$T/plain.bin"
: >"$T/empty.dmp"
printf 'MDMP\223\247\0\0' >"$T/truncated.dmp"
head -c 300 "$T/example.dmp" >"$T/cut.dmp"
printf 'not a minidump at all\n' >"$T/text.txt"

# ---------------------------------------------------------------- version, help, usage errors
run --version
expect_rc "--version" 0
check "--version names the program" grep -q '^memcfg [0-9]' "$T/out"
run scan --help
expect_rc "scan --help" 0
check "scan --help lists --deadline" grep -q -- '--deadline' "$T/out"
for args in "" "frobnicate" "scan" "scan -f yaml x" "scan -p 0 x" "scan --min-confidence 101 x" \
    "scan -F no-such-family x" "scan --exclude-family no-such-family x" \
    "scan --input-format vmem x" "scan --base 0xZZ x" "scan --bogus x" "scan -a" \
    "info" "info -f xml x" "check-rules" "list-families -f csv" "schema extra"; do
    # shellcheck disable=SC2086
    run $args
    expect_rc "usage error: memcfg $args" 2
done

# ---------------------------------------------------------------- schema, list-families
run schema
expect_rc "schema" 0
check "schema prints valid JSON" py 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d, dict) and d' "$T/out"
run list-families -f json
expect_rc "list-families -f json" 0
check "list-families gives family, display, version, category" py '
import json,sys
for f in json.load(open(sys.argv[1])):
    assert {"family","display","version","category"} <= set(f), f' "$T/out"
run list-families
expect_rc "list-families" 0

# ---------------------------------------------------------------- info
INFO_KEYS='{"format","arch","pid","process","regions","bytes","modules","images","warnings"}'
for f in example.dmp ex-minidump.bin ex-cuckoo.bin ex-elfcore.bin ex-raw.bin ex-gzip.dmp.gz; do
    run info -f json "$T/$f"
    expect_rc "info -f json $f" 0
    check "info $f: exact keys, integer addresses" py "
import json,sys
d=json.load(open(sys.argv[1]))
assert set(d) == $INFO_KEYS, sorted(d)
assert isinstance(d['regions'], int) and isinstance(d['bytes'], int)
assert d['pid'] is None or isinstance(d['pid'], int)
for m in d['modules']:
    assert set(m) == {'base','size','path'} and isinstance(m['base'], int) and isinstance(m['size'], int), m
for i in d['images']:
    assert isinstance(i['base'], int) and isinstance(i['size'], int) and i['layout'] in ('mapped','flat'), i
assert all(isinstance(w, str) for w in d['warnings'])" "$T/out"
done
run info -f json "$T/ex-minidump.bin" "$T/ex-cuckoo.bin"
check "info on several dumps gives an array" py 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 2' "$T/out"
run info -f json --input-format raw --base 0xffff800000400000 "$T/ex-raw.bin"
check "info: an address above 2^63 stays an exact integer" py '
import json,sys
d=json.load(open(sys.argv[1]))
assert d["format"] == "raw" and d["bytes"] > 0
assert d["images"] and all(i["base"] >= 0xffff800000400000 for i in d["images"]), d["images"]' "$T/out"
run info "$T/example.dmp"
expect_rc "info text" 0
check "info text names the format" grep -q 'format' "$T/out"
run info "$T/example.dmp" "$T/empty.dmp"
expect_rc "info with one bad dump" 3
check "info reports the bad dump on one line" test "$(grep -c "^memcfg: $T/empty.dmp: " "$T/err")" -eq 1

# ---------------------------------------------------------------- scan formats
run scan "$T/example.dmp"
expect_rc "scan text" 0
check "scan text names the input" grep -q "^$T/example.dmp\$" "$T/out"
check "scan text ends with the run summary" grep -q '^1 input, ' "$T/out"
run scan -f json "$T/example.dmp"
expect_rc "scan -f json" 0
cp "$T/out" "$T/example.json"
check "json document shape" py '
import json,sys
d=json.load(open(sys.argv[1]))
assert set(d) == {"schema_version","tool","inputs","records","stats"}, sorted(d)
assert d["tool"]["name"] == "memcfg"
i=d["inputs"][0]
assert i["status"] == "ok" and len(i["sha256"]) == 64 and i["format"], i
assert "elapsed_ms" not in i
assert d["stats"]["inputs"] == 1 and d["stats"]["errors"] == 0
assert d["stats"]["records"] == sum(r["record_type"] == "config" for r in d["records"])
for r in d["records"]:
    assert r["schema_version"] and r["record_type"] in ("config","error")
    if r["record_type"] == "config":
        assert r["config"]["family"] and r["status"] in ("complete","partial","template","failed")
        assert isinstance(r.get("confidence", 0), int)' "$T/out"
run scan -f json "$T/example.dmp"
check "json output is the same on a second run" cmp -s "$T/out" "$T/example.json"
run scan -f ndjson "$T/example.dmp"
expect_rc "scan -f ndjson" 0
check "ndjson: one JSON record per line, same records as json" python3 -c '
import json,sys
lines=open(sys.argv[1]).read().splitlines()
recs=[json.loads(l) for l in lines]
assert recs == json.load(open(sys.argv[2]))["records"]' "$T/out" "$T/example.json"
run scan -f ndjson -o "$T/o.ndjson" "$T/example.dmp"
expect_rc "scan -o FILE" 0
check "-o leaves stdout empty" test ! -s "$T/out"
check "-o writes the records" py 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/o.ndjson"

# ---------------------------------------------------------------- records from a committed sample
# A synthetic Quasar build (fixtures/dotnet); checked only for what every family shares.
SAMPLE="${MEMCFG_SRCDIR:-.}/fixtures/dotnet/quasar14.exe"
if [ -f "$SAMPLE" ] && "$MEMCFG" list-families | grep -q '^quasar '; then
    run scan -f json "$SAMPLE"
    cp "$T/out" "$T/sample.json"
    check "a config record with hosts comes out" py '
import json,sys
d=json.load(open(sys.argv[1]))
c=[r for r in d["records"] if r["record_type"] == "config"]
assert c and d["stats"]["records"] == len(c)
assert any(x.get("server_domain") or x.get("server_ip") for r in c for x in r["config"].get("tcp", []))
assert all("defanged" not in r for r in c)' "$T/sample.json"
    run scan "$SAMPLE"
    check "text defangs every host of the json output" python3 -c '
import json,sys
text=open(sys.argv[2]).read()
hosts={x.get("server_domain") or x.get("server_ip") for r in json.load(open(sys.argv[1]))["records"]
       for x in r.get("config",{}).get("tcp",[])} - {None}
assert hosts
for h in hosts:
    assert h not in text and h.replace(".", "[.]") in text, h' "$T/sample.json" "$T/out"
    run scan --no-defang "$SAMPLE"
    check "--no-defang prints real hosts" sh -c "! grep -q '\[\.\]' '$T/out'"
    run scan --defang -f ndjson "$SAMPLE"
    check "--defang on ndjson marks the records" py '
import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l)
    assert r["defanged"] is True
    for x in r["config"].get("tcp", []):
        h = x.get("server_domain") or x.get("server_ip")
        assert "." not in h.replace("[.]", ""), h' "$T/out"
    run scan -f json --exclude-family quasar "$SAMPLE"
    check "--exclude-family drops the family" py 'import json,sys; assert json.load(open(sys.argv[1]))["stats"]["records"] == 0' "$T/out"
    run scan -f json -F quasar "$SAMPLE"
    check "-F keeps the family" python3 -c '
import json,sys
a=json.load(open(sys.argv[1]))["records"]; b=json.load(open(sys.argv[2]))["records"]
assert a and [r["config"] for r in a] == [r["config"] for r in b if r["config"]["family"] == "quasar"]' "$T/out" "$T/sample.json"
    run scan -f json --min-confidence 100 "$SAMPLE"
    check "--min-confidence drops records below it" py '
import json,sys
assert all(r["confidence"] >= 100 for r in json.load(open(sys.argv[1]))["records"])' "$T/out"
    run scan --fail-on-empty -f json "$SAMPLE"
    expect_rc "--fail-on-empty with a config found" 0
fi

# ---------------------------------------------------------------- threads, path lists, recursion
mkdir -p "$T/set/sub"
for f in $CONTAINERS; do cp "$T/ex-$f.bin" "$T/set/$f.bin"; done
cp "$T/example.dmp" "$T/set/sub/example.dmp"
cp "$T/plain.bin" "$T/set/sub/plain.bin"
cp "$T/ex-gzip.dmp.gz" "$T/set/sub/z.gz"
mapfile -t SET < <(cd "$T/set" && find . -type f | LC_ALL=C sort | sed "s|^\.|$T/set|")
for fmt in json ndjson text; do
    "$MEMCFG" scan -f "$fmt" -p 1 "${SET[@]}" >"$T/p1" 2>/dev/null
    "$MEMCFG" scan -f "$fmt" -p 2 "${SET[@]}" >"$T/p2" 2>/dev/null
    "$MEMCFG" scan -f "$fmt" -p 8 "${SET[@]}" >"$T/p8" 2>/dev/null
    check "-p 1, -p 2 and -p 8 give byte-identical $fmt" sh -c "cmp -s '$T/p1' '$T/p2' && cmp -s '$T/p1' '$T/p8'"
done
"$MEMCFG" scan -f json "${SET[@]}" >"$T/args.json" 2>/dev/null
printf '%s\n' "${SET[@]}" | "$MEMCFG" scan -f json - >"$T/stdin.json" 2>/dev/null
check "paths from stdin equal paths as arguments" cmp -s "$T/args.json" "$T/stdin.json"
run scan -r -f json "$T/set"
expect_rc "scan -r DIR" 0
check "-r walks the tree in name order" python3 -c '
import json,sys
a=[i["path"] for i in json.load(open(sys.argv[1]))["inputs"]]
assert a == sys.argv[2:], a' "$T/out" "${SET[@]}"
run scan -f json "$T/set"
expect_rc "a directory without -r" 3
check "a directory without -r says use -r" grep -q 'use -r' "$T/err"

# ---------------------------------------------------------------- bad inputs in a batch
BAD=("$T/missing.dmp" "$T/empty.dmp" "$T/truncated.dmp" "$T/cut.dmp")
run scan -f ndjson "$T/example.dmp" "${BAD[@]}" "$T/plain.bin"
expect_rc "bad inputs in a batch" 3
check "one error record per bad input, good inputs still scanned" python3 -c '
import json,sys
recs=[json.loads(l) for l in open(sys.argv[1])]
errs=[r["input"]["path"] for r in recs if r["record_type"] == "error"]
assert errs == sys.argv[2:], errs
for r in recs:
    if r["record_type"] == "error":
        assert r["error"]["message"] and r["error"]["code"], r' "$T/out" "${BAD[@]}"
for b in "${BAD[@]}"; do
    check "one stderr line for $(basename "$b")" test "$(grep -c "^memcfg: $b: ." "$T/err")" -eq 1
done
check "stderr holds only those lines" test "$(wc -l <"$T/err")" -eq 4
run scan -f json --input-format minidump "$T/text.txt" "$T/ex-minidump.bin"
expect_rc "a forced format that does not match" 3
check "unknown-format input is an error, the other is scanned" py '
import json,sys
d=json.load(open(sys.argv[1]))
assert [i["status"] for i in d["inputs"]] == ["error","ok"], d["inputs"]' "$T/out"
if [ "$(id -u)" != 0 ]; then
    cp "$T/example.dmp" "$T/noread.dmp"; chmod 000 "$T/noread.dmp"
    run scan "$T/noread.dmp"
    expect_rc "an unreadable file" 3
fi

# 1,000 files, one in ten garbage: empty, or a compressed-stream magic followed by junk
mkdir "$T/many"
for i in $(seq -w 0 999); do
    case $i in
        *0) : >"$T/many/f$i" ;;
        *5) printf '\037\213\010\000junkjunkjunk%s' "$i" >"$T/many/f$i" ;;
        *) printf 'raw bytes %s\n' "$i" >"$T/many/f$i" ;;
    esac
done
run scan -r -p 2 -f json "$T/many"
expect_rc "1,000 files with garbage" 3
check "every file reported, every garbage file an error, the rest ok" py '
import json,sys
d=json.load(open(sys.argv[1]))
ins=d["inputs"]
assert len(ins) == 1000 and d["stats"]["inputs"] == 1000
for i in ins:
    bad = i["path"][-1] in "05"
    assert (i["status"] == "error") == bad, i
assert d["stats"]["errors"] == 200
assert sum(r["record_type"] == "error" for r in d["records"]) == 200' "$T/out"
check "one stderr line per garbage file" test "$(grep -c '^memcfg: .*/many/f[0-9]*: ' "$T/err")" -eq 200

# ---------------------------------------------------------------- records against the schema
"$MEMCFG" schema >"$T/schema.json" 2>/dev/null
"$MEMCFG" scan -f ndjson --deadline 30 "$T/example.dmp" "${BAD[@]}" "$T/set" \
    ${SAMPLE:+"$SAMPLE"} >"$T/all.ndjson" 2>/dev/null
check "every record, error records too, validates against memcfg schema" python3 -c '
import json,sys,jsonschema
schema=json.load(open(sys.argv[1]))
v=jsonschema.Draft202012Validator(schema)
n=0
for line in open(sys.argv[2]):
    r=json.loads(line); n+=1
    errs=[e.message for e in v.iter_errors(r)]
    assert not errs, (r.get("record_type"), errs[:3])
assert n >= len(sys.argv[3:]) + 1' "$T/schema.json" "$T/all.ndjson" "${BAD[@]}"
VALIDATE_MACO="${MEMCFG_SRCDIR:-.}/../shared/schemas/validate_maco.py"
if [ -f "$VALIDATE_MACO" ]; then
    # errors come on stdout; the one-line summary on stderr is not needed here
    check "configs validate as MACO" sh -c "python3 '$VALIDATE_MACO' --quiet '$T/all.ndjson' 2>/dev/null"
fi

# ---------------------------------------------------------------- exit codes
run scan --fail-on-empty "$T/plain.bin"
expect_rc "--fail-on-empty with nothing found" 4
run scan --deadline 0.000001 -p 1 -f ndjson "${SET[@]}"
expect_rc "--deadline passed" 3
check "inputs past the deadline get an error record" grep -q 'deadline reached' "$T/out"
# shellcheck disable=SC2016
printf 'rule good { strings: $a = "memcfg-e2e" condition: $a }\n' >"$T/good.yar"
# shellcheck disable=SC2016
printf 'rule fine { condition: true }\n\nrule bad {\n  strings:\n    $a = "memcfg-e2e"\n  condition: $a and $nope }\n' >"$T/bad.yar"
run check-rules -R "$T/good.yar"
expect_rc "check-rules on a good rule" 0
run check-rules -R "$T/bad.yar"
expect_rc "check-rules on a bad rule" 12
check "check-rules names the file and line" grep -q 'bad.yar:6: .*nope' "$T/err"
run scan -R "$T/bad.yar" "$T/example.dmp"
expect_rc "scan with a bad rule" 12
run scan -R "$T/good.yar" -f json "$T/example.dmp"
expect_rc "scan with an extra rule" 0

# ---------------------------------------------------------------- PBKDF2 budget, thread budget
run scan --kdf-budget -5 "$T/example.dmp"
expect_rc "scan --kdf-budget with a negative count" 2
"$MEMCFG" scan -f json "$T/example.dmp" >"$T/kdf-default" 2>/dev/null
"$MEMCFG" scan -f json --kdf-budget 0 "$T/example.dmp" >"$T/kdf-unlimited" 2>/dev/null
check "--kdf-budget 0 (unlimited) gives the default output" cmp -s "$T/kdf-default" "$T/kdf-unlimited"
run scan -f json --kdf-budget 1 "$T/example.dmp"
check "a biting --kdf-budget: Quasar's record says its derivations were skipped, Remcos decodes" py '
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
q = [r for r in recs if r["decoder"]["name"] == "quasar"]
assert q and q[0]["status"] == "failed", q
assert any("quasar used up its PBKDF2 budget" in w for w in q[0]["warnings"]), q
assert any(r["decoder"]["name"] == "remcos" and r["status"] == "complete" for r in recs)' "$T/out"
run scan -v -p 1 -f json "$T/example.dmp"
check "-p 1 hashes the input on its one thread, after the decoders" grep -q 'hash [0-9.]* ms (after the decoders;' "$T/err"
run scan -v -p 2 -f json "$T/example.dmp"
check "-p 2 hashes one input alongside its scan" grep -q 'hash [0-9.]* ms (alongside;' "$T/err"
check "the scan's threads index the heap and the decoders use that index" \
    grep -q 'heap index [0-9.]* ms of it, used)' "$T/err"
run scan -v -p 2 -f json "$T/plain.bin"
check "a dump without a string match is not indexed" grep -q 'heap index 0.0 ms of it, not used)' "$T/err"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
