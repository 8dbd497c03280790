#!/bin/bash
# The bundled example snapshot (fixtures/mkfixture) decodes to exactly its planted configurations
# in every container: QuasarRAT 1.4 from the mapped .NET image with its heap copies, and Remcos from
# a header-wiped payload injected into an RWX region.
# Usage: example.sh MEMCFG MKFIXTURE
set -u
MEMCFG=$1
MKFIXTURE=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/memcfg-example.XXXXXX")
trap 'rm -rf "$T"' EXIT
passed=0
failed=0

check_records() {  # FILE LABEL RAW(0|1)
    python3 - "$1" "$3" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
raw_only = sys.argv[2] == "1"
by = {r["config"]["family"]: r for r in recs if r["record_type"] == "config"}
q = by["quasar"]["config"]
assert by["quasar"]["status"] == "complete", by["quasar"]["status"]
assert q["version"] == "1.4.1", q
conns = sorted((c.get("server_ip") or c.get("server_domain"), c["server_port"], c["usage"]) for c in q["tcp"])
assert conns == [("192.0.2.44", 4782, "c2"), ("198.51.100.9", 443, "c2"), ("c2.quasar.example", 4782, "c2")], conns
assert q["mutex"] == ["5b1d0c9e-3f7a-4e2b-8c6d-1a2b3c4d5e6f"] and q["campaign_id"] == ["Office04"], q
assert q["encryption"][0]["key"] == "8dfb1827616a055483b9322fa433855db5587b37f58c855774eb4cfaa319737b"
forms = {p["form"] for p in by["quasar"]["provenance"]["tcp[0]"]}
assert forms == ({"image_encrypted"} if raw_only else {"image_encrypted", "heap_decrypted"}), forms
if raw_only:
    assert set(by) == {"quasar"}, set(by)
    sys.exit(0)
r = by["remcos"]["config"]
conns = [(c.get("server_ip") or c.get("server_domain"), c["server_port"]) for c in r["tcp"]]
assert conns == [("203.0.113.50", 2404), ("update.remcos.test", 443)], conns
assert r["mutex"] == ["Rmc-EX4MPL"] and r["campaign_id"] == ["Sandbox-Demo"] and r["version"] == "4.9.3 Pro", r
assert by["remcos"]["detection"]["region"]["va"].endswith("2a10000"), by["remcos"]["detection"]
assert len(recs) == 2, len(recs)
PY
}

for fmt in minidump cuckoo elfcore raw gzip; do
    if [ "$fmt" = gzip ]; then args=(--gzip); else args=(--format "$fmt"); fi
    f="$T/example-$fmt"
    if "$MKFIXTURE" "$f" "${args[@]}" >/dev/null 2>&1 &&
       "$MEMCFG" scan -f ndjson "$f" >"$T/out" 2>"$T/err" &&
       check_records "$T/out" "$fmt" "$([ "$fmt" = raw ] && echo 1 || echo 0)"; then
        passed=$((passed + 1)); echo "ok - example snapshot as $fmt"
    else
        failed=$((failed + 1)); echo "FAIL - example snapshot as $fmt"; head -5 "$T/err"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
