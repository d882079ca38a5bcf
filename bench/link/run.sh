#!/usr/bin/env bash
# bench/link: vendor linking at scale. Candidate generation (blocking + MinHash/LSH) and
# scoring of ~100,000 simulated vendor accounts over 10 market labels, against brute-force
# all pairs on a 5,000-account subset (time scaled to 100k as n^2: an extrapolation), and
# the recall candidate generation loses against all pairs.
#
# Usage: bench/link/run.sh [--accounts N] [--subset N] [--ops-per-run N] [--keep]
# Data: crates/linking/examples/bench_link.rs (many small sim runs, 4 markets each, mapped
# to 10 labels; accounts built from the sim's truth records, not by page extraction).
# Prints a summary and writes bench/link/last-run.json. Scoring runs on every core
# (`Linker::keep`, std threads); the machine has 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
ACCOUNTS=100000; SUBSET=5000; OPS=400; KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --accounts) ACCOUNTS="$2"; shift 2;;
    --subset) SUBSET="$2"; shift 2;;
    --ops-per-run) OPS="$2"; shift 2;;
    --keep) KEEP=1; shift;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
cargo build --release -p linking --example bench_link >&2
BIN=target/release/examples/bench_link
WORK=$(mktemp -d /tmp/bench-link.XXXXXX)
echo "generating $ACCOUNTS accounts in $WORK/data.json" >&2
$BIN gen "$WORK/data.json" "$ACCOUNTS" "$OPS" > "$WORK/gen.json"
echo "linking all accounts (candidates + scoring)" >&2
/usr/bin/time -v $BIN link "$WORK/data.json" > "$WORK/link.json" 2> "$WORK/link.time"
echo "all pairs vs candidates on $SUBSET accounts" >&2
/usr/bin/time -v $BIN allpairs "$WORK/data.json" "$SUBSET" > "$WORK/allpairs.json" 2> "$WORK/allpairs.time"
python3 - "$WORK" <<'PY'
import json, re, sys, pathlib
work = pathlib.Path(sys.argv[1])
def tv(name):
    t = (work / name).read_text()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (.+)", t).group(1).strip()
    parts = [float(x) for x in wall.split(":")]
    secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    return {"wall_s": secs, "peak_rss_mib": rss}
gen = json.loads((work / "gen.json").read_text())
link = json.loads((work / "link.json").read_text())
ap = json.loads((work / "allpairs.json").read_text())
res = {"generator": gen, "link": link, "link_time": tv("link.time"), "allpairs": ap, "allpairs_time": tv("allpairs.time")}
r = link["run"]
n = link["accounts"]
scaled = ap["all_pairs"]["seconds_scaled_to_100k_n2"] * (n * (n - 1)) / (100_000 * 99_999)
res["ratios"] = {
    "candidates_100k_total_s": r["total_s"],
    "all_pairs_scaled_to_n_s": scaled,
    "speedup_vs_all_pairs_extrapolated": scaled / r["total_s"],
    "speedup_vs_all_pairs_on_subset": ap["speedup_candidates_vs_all_pairs"],
    "candidate_share_of_all_pairs": link["candidate_share_of_all_pairs"],
    "recall_lost_vs_all_pairs_100k": link["recall_lost_vs_all_pairs"],
    "recall_lost_vs_all_pairs_subset": ap["recall_lost_vs_all_pairs"],
}
res["targets"] = {
    "under_60_s": r["total_s"] < 60,
    "under_1pct_recall_lost": link["recall_lost_vs_all_pairs"] < 0.01,
}
pathlib.Path("bench/link/last-run.json").write_text(json.dumps(res, indent=2) + "\n")
print(f"{n} accounts, {link['market_labels']} market labels, {link['operators']} operators, {link['true_pairs']} same-operator pairs")
print(f"candidates + scoring: {r['total_s']:.1f} s (corpus {r['corpus_s']:.1f}, candidates {r['candidates_s']:.1f}, scoring {r['scoring_s']:.1f}); "
      f"{r['candidate_pairs']} candidates ({link['candidate_share_of_all_pairs']:.2%} of all pairs); peak RSS {res['link_time']['peak_rss_mib']:.0f} MiB")
print(f"all pairs on {ap['accounts']}: {ap['all_pairs']['total_s']:.1f} s vs candidates {ap['candidates']['total_s']:.1f} s "
      f"({ap['speedup_candidates_vs_all_pairs']:.1f}x); scaled to {n} as n^2: {scaled:.0f} s, {scaled / r['total_s']:.1f}x the candidate run")
print(f"recall lost vs all pairs: {link['recall_lost_vs_all_pairs']:.4%} at {n} ({link['linkable_missed_by_candidates']} of {link['true_pairs_linkable_by_all_pairs']}), "
      f"{ap['recall_lost_vs_all_pairs']:.4%} on the subset")
print(f"targets: <60 s {'met' if res['targets']['under_60_s'] else 'NOT met'}; <1% recall lost {'met' if res['targets']['under_1pct_recall_lost'] else 'NOT met'}")
PY
if [ "$KEEP" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
