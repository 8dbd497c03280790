#!/bin/bash
# End-to-end tests of the export formats through the memcfg command line: scan -f maco|cape|stix|
# misp on the example dump (Quasar + Remcos), `memcfg export` of saved NDJSON equal to the direct
# output byte for byte, deterministic output under --fixed-timestamp, the MISP feed folder, the
# option errors, and the shared validators (skipped with a note when ../shared is absent).
# Usage: feed.sh MEMCFG MKFIXTURE
set -u

MEMCFG=$(readlink -f "$1")
MKFIXTURE=$(readlink -f "$2")
SRCDIR=${MEMCFG_SRCDIR:-$(dirname "$(readlink -f "$0")")/../..}
SCHEMAS=$(readlink -f "$SRCDIR/../shared/schemas" 2>/dev/null)
T=$(mktemp -d "${TMPDIR:-/tmp}/memcfg-feed.XXXXXX")
trap 'rm -rf "$T"' EXIT
TS=2026-01-02T03:04:05Z

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
run() { "$MEMCFG" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
expect_rc() {
    if [ "$rc" -eq "$2" ]; then ok "$1 (exit $2)"; else
        not_ok "$1: exit $rc, want $2"; sed 's/^/    stderr: /' "$T/err" | head -5; fi
}
have_validators=1
if [ -z "$SCHEMAS" ] || [ ! -f "$SCHEMAS/validate_stix.py" ]; then
    echo "# shared/schemas not found: validator checks skipped"
    have_validators=0
fi
validate() {   # validate NAME ARGS... FILE
    [ "$have_validators" = 1 ] || return 0
    local v=$1; shift
    python3 "$SCHEMAS/$v" --quiet "$@" >"$T/vout" 2>&1 || { sed 's/^/    /' "$T/vout" | head -5; return 1; }
}
validate_misp_lines() {   # one event per line -> one file each
    [ "$have_validators" = 1 ] || return 0
    rm -f "$T"/ev.*
    split -l1 "$1" "$T/ev."
    python3 "$SCHEMAS/validate_misp.py" --quiet --strict "$T"/ev.* >"$T/vout" 2>&1 ||
        { sed 's/^/    /' "$T/vout" | head -5; return 1; }
}

cd "$T" || exit 1
"$MKFIXTURE" ex.dmp >/dev/null 2>&1
check "mkfixture writes the example dump" test -s ex.dmp

run scan -f ndjson ex.dmp
expect_rc "scan -f ndjson" 0
cp out saved.ndjson
check "the example holds two families" python3 -c '
import json,sys
fams = {json.loads(l)["config"]["family"] for l in open(sys.argv[1])}
assert {"quasar", "remcos"} <= fams, fams' saved.ndjson

for f in maco cape stix misp; do
    run scan -f "$f" --fixed-timestamp "$TS" --tlp green ex.dmp
    expect_rc "scan -f $f" 0
    cp out "direct.$f"
    run scan -f "$f" --fixed-timestamp "$TS" --tlp green ex.dmp
    check "$f: two runs byte-identical" cmp -s out "direct.$f"
    run export -f "$f" --fixed-timestamp "$TS" --tlp green saved.ndjson
    expect_rc "export -f $f" 0
    check "$f: export equals direct output" cmp -s out "direct.$f"
done
check "maco validates" validate validate_maco.py --min-configs 2 direct.maco
check "stix validates" validate validate_stix.py --check-refs direct.stix
check "misp validates" validate_misp_lines direct.misp
check "stix: one bundle, no spec_version, both families" python3 -c '
import json,sys
b = json.load(open(sys.argv[1]))
assert b["type"] == "bundle" and "spec_version" not in b
names = {o["name"] for o in b["objects"] if o["type"] == "malware"}
assert names == {"QuasarRAT", "Remcos"}, names
ind = [o for o in b["objects"] if o["type"] == "indicator"]
assert ind and all(" AND " not in o["pattern"] for o in ind)' direct.stix
check "cape: CNCs are URL-shaped" python3 -c '
import json,sys
for l in open(sys.argv[1]):
    (fam, c), = json.loads(l).items()
    assert c["CNCs"] and all("://" in u for u in c["CNCs"]), c' direct.cape

# same config in a second input: the STIX ids do not change
cp ex.dmp ex2.dmp
run scan -f stix --fixed-timestamp "$TS" --tlp green ex.dmp ex2.dmp
check "stix: the same config twice keeps its ids" python3 -c '
import json,sys
a = {o["id"] for o in json.load(open(sys.argv[1]))["objects"] if o["type"] != "bundle"}
b = [o["id"] for o in json.load(open(sys.argv[2]))["objects"]]
assert len(b) == len(set(b)) and set(b) == a' direct.stix out

# MISP feed folder
run export -f misp --misp-feed-dir feed --misp-org-name "Example CERT" \
    --misp-org-uuid 5f0c2a9e-1b3d-4e6f-8a7b-9c0d1e2f3a4b --fixed-timestamp "$TS" saved.ndjson
expect_rc "export --misp-feed-dir" 0
check "feed folder: manifest, hashes, event" python3 -c '
import json,os,sys
m = json.load(open("feed/manifest.json"))
assert len(m) == 1
(u, e), = m.items()
assert e["Orgc"]["name"] == "Example CERT" and os.path.exists("feed/%s.json" % u)
lines = open("feed/hashes.csv").read().split()
assert lines and all(l.endswith("," + u) for l in lines)'
check "feed event validates" validate validate_misp.py --strict feed/*-*.json

# bad lines are reported with their number, the rest still exported
{ echo 'not json'; cat saved.ndjson; echo '{"x":1}'; } >bad.ndjson
run export -f maco bad.ndjson
expect_rc "export of a file with bad lines" 3
check "bad lines named by number" grep -q 'bad.ndjson:1:' err
check "bad line 4 reported" grep -q 'bad.ndjson:4:' err
check "good records still exported" test "$(wc -l <out)" -eq 2

for args in "export saved.ndjson" "export -f yaml saved.ndjson" "export -f stix" \
    "export -f stix --tlp white saved.ndjson" "export -f stix --fixed-timestamp yesterday saved.ndjson" \
    "export -f maco --misp-feed-dir d saved.ndjson" "scan -f stix --tlp purple ex.dmp" \
    "export -f misp --misp-org-uuid nope saved.ndjson"; do
    # shellcheck disable=SC2086
    run $args
    expect_rc "usage error: memcfg $args" 2
done
run export -f maco no-such-file.ndjson
expect_rc "export of a missing file" 3

echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ]
