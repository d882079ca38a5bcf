#!/usr/bin/env bash
# bench/sales: import a generated market of N listings and M feedback entries
# (`dragnet sim sales`, Agora 2014 CSV layout) and estimate sales per vendor
# (`dragnet sales --by vendor --json`; the import computes and keeps the sales
# units, the query reads their rollup; the same query with a day window reads
# the day-level units), against DuckDB doing the same aggregation on the same
# CSV files, in one run. Checks that both give the
# same per-vendor sales and revenue (exit 1 if not), then prints times,
# feedback rows/s (per core), ratios and peak memory (/usr/bin/time -v).
#
# The import is also timed in its two halves on a second case: the ingest
# (`import --defer-estimate`) and the first query, which then estimates.
#
# Usage: bench/sales/run.sh [--listings N] [--feedback M] [--files F] [--seed S] [--keep]
#   defaults: 1,000,000 listings, 10,000,000 feedback, 8 files, seed 7.
# DRAGNET_BIN=PATH uses that dragnet binary instead of building one.
# Needs: python3 with duckdb (installed with `pip install --user duckdb` when missing).
# Writes bench/sales/last-run.json; data and cases go to a temp dir under /tmp.
set -euo pipefail
cd "$(dirname "$0")/../.."
LISTINGS=1000000; FEEDBACK=10000000; FILES=8; SEED=7; KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --listings) LISTINGS="$2"; shift 2;;
    --feedback) FEEDBACK="$2"; shift 2;;
    --files) FILES="$2"; shift 2;;
    --seed) SEED="$2"; shift 2;;
    --keep) KEEP=1; shift;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
python3 -c "import duckdb" 2>/dev/null || pip install --user --quiet duckdb >&2
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (GNU time) for peak memory" >&2; exit 1; }
if [ -n "${DRAGNET_BIN:-}" ]; then BIN="$DRAGNET_BIN"; else   # DRAGNET_BIN: a prebuilt release binary
  cargo build --release --quiet -p cli >&2
  BIN="$PWD/target/release/dragnet"
fi
WORK=$(mktemp -d /tmp/bench-sales.XXXXXX)
cleanup() { if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi; }
trap cleanup EXIT

# timed NAME CMD...: runs CMD under GNU time; stdout to $WORK/NAME.out, the
# time report to $WORK/NAME.time, stderr to $WORK/NAME.err.
timed() {
  local name="$1"; shift
  echo "== $name" >&2
  /usr/bin/time -v -o "$WORK/$name.time" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || {
    echo "$name failed:" >&2; tail -20 "$WORK/$name.err" >&2; exit 1; }
}

timed generate "$BIN" --json sim sales --out "$WORK/data" --listings "$LISTINGS" --feedback "$FEEDBACK" \
  --files "$FILES" --seed "$SEED"
mapfile -t CSVS < <(ls "$WORK"/data/*.csv)
cat "${CSVS[@]}" > /dev/null   # page cache warm for both sides
# Written back too, so that the kernel does not write the generated gigabyte
# out during the import that comes first (dragnet's) while DuckDB's, later,
# finds it done. (Measured at 6a8f21c, three runs each: 18.6 s median without,
# 16.8 s with; the previous binary 20.0 s either way: single runs here spread
# by more than that.)
sync
"$BIN" --quiet case init "$WORK/case" > /dev/null
timed dragnet_import "$BIN" --quiet --json --case "$WORK/case" import --format agora-2014 "${CSVS[@]}"
timed dragnet_sales "$BIN" --quiet --json --case "$WORK/case" sales --by vendor
# The same query with a day window that covers every day: answered from the
# day-level table of units, not the rollup over all days.
timed dragnet_sales_window "$BIN" --quiet --json --case "$WORK/case" sales --by vendor --from 1900-01-01 --to 2999-12-31
# The import's two halves apart, on a second case: the files stored and
# their rows read into the store (`--defer-estimate`), then the first query,
# which computes and keeps the sales units. The figure the target is held to
# is the import above, which does both.
"$BIN" --quiet case init "$WORK/case-deferred" > /dev/null
sync   # the first case's gigabyte written out first, as before the import above
timed dragnet_ingest "$BIN" --quiet --json --case "$WORK/case-deferred" import --format agora-2014 --defer-estimate "${CSVS[@]}"
timed dragnet_first_sales "$BIN" --quiet --json --case "$WORK/case-deferred" sales --by vendor
cmp -s "$WORK/dragnet_sales.out" "$WORK/dragnet_first_sales.out" || { echo "the deferred estimate's sales differ from the import's" >&2; exit 1; }
rm -rf "$WORK/case-deferred"
timed duckdb_import python3 bench/sales/peer_duckdb.py import "$WORK/peer.duckdb" "${CSVS[@]}"
timed duckdb_query python3 bench/sales/peer_duckdb.py query "$WORK/peer.duckdb" "$WORK/duckdb_query.csv"
timed duckdb_oneshot python3 bench/sales/peer_duckdb.py oneshot "$WORK/duckdb_oneshot.csv" "${CSVS[@]}"
du -sb "$WORK/case" "$WORK/peer.duckdb" > "$WORK/sizes.txt"

python3 - "$WORK" "$(nproc)" <<'PY'
import csv, json, pathlib, re, sys
from decimal import Decimal
work, cores = pathlib.Path(sys.argv[1]), int(sys.argv[2])

def gnu_time(name):
    t = (work / f"{name}.time").read_text()
    g = lambda k: re.search(re.escape(k) + r":\s*(.+)", t).group(1).strip()
    wall = 0.0
    for part in g("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    return {"wall_s": wall, "cpu_s": float(g("User time (seconds)")) + float(g("System time (seconds)")),
            "peak_rss_mib": int(g("Maximum resident set size (kbytes)")) / 1024}

gen = json.loads((work / "generate.out").read_text())
t = {n: gnu_time(n) for n in ["generate", "dragnet_import", "dragnet_sales", "dragnet_sales_window", "dragnet_ingest", "dragnet_first_sales",
                               "duckdb_import", "duckdb_query", "duckdb_oneshot"]}
peer = {n: json.loads((work / f"{n}.out").read_text().strip().splitlines()[-1]) for n in ["duckdb_import", "duckdb_query", "duckdb_oneshot"]}

# dragnet: JSON lines of estimates; keep feedback_count per (market, vendor).
def dragnet_rows(name):
    rows = {}
    for line in (work / f"{name}.out").read_text().splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        e = json.loads(line)
        if e.get("method") != "feedback_count":
            continue
        rows[(e["market"], e["vendor"])] = (e["sales_lower"], e["revenue_usd_lower"], e.get("unpriced_sales", 0))
    return rows

ours = dragnet_rows("dragnet_sales")
windowed = dragnet_rows("dragnet_sales_window")

def peer_rows(f):
    with open(work / f) as fh:
        return {(r["market"], r["vendor"]): (int(r["sales"]), Decimal(r["revenue"])) for r in csv.DictReader(fh)}

problems = []
for label, f in [("duckdb query", "duckdb_query.csv"), ("duckdb oneshot", "duckdb_oneshot.csv")]:
    theirs = peer_rows(f)
    if set(theirs) != set(ours):
        problems.append(f"{label}: vendor sets differ ({len(ours)} dragnet, {len(theirs)} duckdb; "
                        f"e.g. {sorted(set(ours) ^ set(theirs))[:3]})")
        continue
    for k, (s, r) in theirs.items():
        os_, orev, unpriced = ours[k]
        if abs(os_ - s) > 1e-6 or unpriced > 0 or abs(orev - float(r)) > max(0.005, 1e-9 * float(r)):
            problems.append(f"{label}: {k}: dragnet sales {os_} revenue {orev:.2f} (unpriced {unpriced}), duckdb {s} {r}")
            if len(problems) > 10:
                break
if set(windowed) != set(ours) or any(abs(windowed[k][0] - v[0]) > 1e-6 or abs(windowed[k][1] - v[1]) > max(0.005, 1e-9 * v[1]) for k, v in ours.items()):
    problems.append("dragnet: the day-table answer (window over every day) differs from the rollup answer")
total_sales = sum(v[0] for v in ours.values())
total_rev = sum(v[1] for v in ours.values())
exp_rev = gen["revenue_cents"] / 100
if round(total_sales) != gen["feedback"] or abs(total_rev - exp_rev) > max(0.01, 1e-9 * exp_rev):
    problems.append(f"dragnet totals {total_sales} sales / {total_rev:.2f} USD, generator wrote {gen['feedback']} / {exp_rev:.2f}")
if peer["duckdb_import"]["feedback"] != gen["feedback"]:
    problems.append(f"duckdb imported {peer['duckdb_import']['feedback']} feedback, generator wrote {gen['feedback']}")

sizes = {pathlib.Path(p).name: int(n) for n, p in (l.split("\t") for l in (work / "sizes.txt").read_text().splitlines())}
fb, mb = gen["feedback"], gen["bytes"] / 1e6
res = {"generator": gen | {"files": len(gen["files"])}, "times": t, "peer": peer, "cores": cores,
       "vendors_compared": len(ours), "agree": not problems, "problems": problems, "disk_bytes": sizes}
imp, sal = t["dragnet_import"], t["dragnet_sales"]
dimp, dq, d1 = t["duckdb_import"], t["duckdb_query"], t["duckdb_oneshot"]
res["feedback_rows_per_s_per_core_wall"] = fb / imp["wall_s"] / cores
res["feedback_rows_per_cpu_s"] = fb / imp["cpu_s"]
ing = t["dragnet_ingest"]
res["ingest_feedback_rows_per_s_per_core_wall"] = fb / ing["wall_s"] / cores
res["ratio_query"] = sal["wall_s"] / dq["wall_s"]
res["ratio_query_day_table"] = t["dragnet_sales_window"]["wall_s"] / dq["wall_s"]
res["ratio_import"] = imp["wall_s"] / dimp["wall_s"]
res["ratio_total_vs_oneshot"] = (imp["wall_s"] + sal["wall_s"]) / d1["wall_s"]
pathlib.Path("bench/sales/last-run.json").write_text(json.dumps(res, indent=2) + "\n")

print(f"data: {gen['listings']:,} listings, {fb:,} feedback, {gen['vendors']:,} vendors, "
      f"{len(gen['files'])} files, {mb:,.1f} MB (generated in {t['generate']['wall_s']:.1f} s); {cores} cores")
row = lambda name, x, extra="": print(f"{name:<34}{x['wall_s']:8.2f} s wall {x['cpu_s']:8.2f} s cpu  peak {x['peak_rss_mib']:8.0f} MiB  {extra}")
row("dragnet import (+ dataset read)", imp, f"{fb / imp['wall_s']:,.0f} feedback rows/s = {res['feedback_rows_per_s_per_core_wall']:,.0f}/s/core; {res['feedback_rows_per_cpu_s']:,.0f}/cpu-s")
row("  ... its ingest alone", ing, f"{res['ingest_feedback_rows_per_s_per_core_wall']:,.0f}/s/core (import --defer-estimate; a second case)")
row("  ... then its first sales", t["dragnet_first_sales"], "(computes and keeps the sales units; same output)")
row("dragnet sales --by vendor", sal, "(rollup kept at import)")
row("  ... with --from/--to", t["dragnet_sales_window"], "(day-level units kept at import)")
row("duckdb import (CSV -> tables)", dimp, f"{fb / dimp['wall_s']:,.0f} feedback rows/s")
row("duckdb query (join + group by)", dq)
row("duckdb one-shot (CSV -> answer)", d1)
print(f"ratio dragnet/duckdb (time, >1 = dragnet slower): query {res['ratio_query']:.2f}x (with a window {res['ratio_query_day_table']:.2f}x), import {res['ratio_import']:.1f}x, "
      f"import+sales vs one-shot {res['ratio_total_vs_oneshot']:.1f}x")
print(f"disk: case {sizes.get('case', 0) / 1e6:,.0f} MB, duckdb {sizes.get('peer.duckdb', 0) / 1e6:,.0f} MB")
if problems:
    print("DISAGREE:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"agree: {len(ours):,} vendors, same sales and revenue on both sides ({total_sales:,.0f} sales, {total_rev:,.2f} USD)")
PY
