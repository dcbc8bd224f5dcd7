#!/usr/bin/env bash
# Runs the benchmarks and writes their tables into docs/benchmarks.md, between the markers
# <!-- bench:NAME --> and <!-- /bench:NAME --> (the text around them is kept).
#   scripts/bench.sh            full runs (about 10 minutes; needs ~25 GB free for recovery)
#   scripts/bench.sh --smoke    seconds-long runs that only check the scripts work; prints the
#                               tables and leaves docs/benchmarks.md alone (CI runs this)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
smoke=0
[[ "${1:-}" == "--smoke" ]] && smoke=1
if [[ ! -x "$root/build/server/runnel" ]]; then
    "$root/scripts/build.sh" runnel
fi
py=/usr/bin/python3
[[ -x "$py" ]] || py=python3
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
if ((smoke)); then
    "$py" "$root/scripts/bench/throughput.py" --runs 1 --scale 0.01 >"$out/throughput.md"
    "$py" "$root/scripts/bench/recovery.py" --gb 0.05 --runs 1 --no-cold \
        --workdir "$out/recovery" >"$out/recovery.md"
    "$py" "$root/scripts/bench/startup.py" --partitions 50 --runs 1 >"$out/startup.md"
    cat "$out/throughput.md" "$out/recovery.md" "$out/startup.md"
    grep -q '^| produce 1024 B, acks=all, 16 partitions |' "$out/throughput.md"
    grep -q '^| worst | page cache |' "$out/recovery.md"
    grep -q '^| 50 |' "$out/startup.md"
    exit 0
fi
"$py" "$root/scripts/bench/throughput.py" --runs 3 >"$out/throughput.md"
"$py" "$root/scripts/bench/recovery.py" --gb 10 --runs 3 >"$out/recovery.md"
# 5,000: three descriptors per partition hit this machine's hard limit of 20,000 open files
# before 10,000 (see docs/benchmarks.md).
"$py" "$root/scripts/bench/startup.py" --partitions 5000 --runs 3 >"$out/startup.md"
"$py" - "$root/docs/benchmarks.md" "$out" <<'PY'
import re, sys, os
doc_path, out = sys.argv[1], sys.argv[2]
doc = open(doc_path).read()
for name in ("throughput", "recovery", "startup"):
    table = open(os.path.join(out, name + ".md")).read().strip()
    start, end = "<!-- bench:%s -->" % name, "<!-- /bench:%s -->" % name
    if start not in doc:
        sys.exit("docs/benchmarks.md lacks the marker " + start)
    doc = re.sub(re.escape(start) + ".*?" + re.escape(end),
                 lambda _: start + "\n" + table + "\n" + end, doc, flags=re.S)
open(doc_path, "w").write(doc)
PY
echo "docs/benchmarks.md updated"
