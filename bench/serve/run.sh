#!/usr/bin/env bash
# bench/serve: the workbench under load. A simulated case of 100,000 listings
# by 10,000 vendors with 300,000 feedback entries (`dragnet sim sales`,
# imported as a dataset), served by `dragnet serve --no-auth` on loopback;
# wrk with 32 connections (2 threads) asks for vendor dossiers
# (/api/vendors/NAME, a different vendor per request) and full-text
# searches (/api/search?q=..., the next of some 4,000 queries: title words,
# pairs of them, vendor names) for 30 s each. Prints p50/p99 latency and requests/s of each, and the time of
# `dragnet report --vendor NAME` for the vendor with the most listings,
# against the issue's limits (p99 < 100 ms, report < 5 s) as ratios.
#
# Usage: bench/serve/run.sh [--listings N] [--vendors M] [--feedback F] [--duration S] [--keep]
# DRAGNET_BIN=PATH uses that dragnet binary instead of building one.
# Needs wrk (apt-get install wrk; installed when missing and apt-get works).
# Writes bench/serve/last-run.json; the case goes to a temp dir under /tmp.
set -euo pipefail
cd "$(dirname "$0")/../.."
LISTINGS=100000; VENDORS=10000; FEEDBACK=300000; DURATION=30; KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --listings) LISTINGS="$2"; shift 2;;
    --vendors) VENDORS="$2"; shift 2;;
    --feedback) FEEDBACK="$2"; shift 2;;
    --duration) DURATION="$2"; shift 2;;
    --keep) KEEP=1; shift;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
command -v wrk >/dev/null || apt-get install -y -qq wrk >&2 || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
if [ -n "${DRAGNET_BIN:-}" ]; then BIN="$DRAGNET_BIN"; else
  cargo build --release --quiet -p cli >&2
  BIN="$PWD/target/release/dragnet"
fi
WORK=$(mktemp -d /tmp/bench-serve.XXXXXX)
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT

echo "== generating and importing $LISTINGS listings of $VENDORS vendors" >&2
"$BIN" --quiet --json sim sales --out "$WORK/data" --listings "$LISTINGS" --feedback "$FEEDBACK" --vendors "$VENDORS" --files 1 > "$WORK/generate.json"
"$BIN" --quiet case init "$WORK/case" > /dev/null
"$BIN" --quiet --json --case "$WORK/case" import --format agora-2014 "$WORK"/data/*.csv > "$WORK/import.json"

# Request lists: every vendor name, and words of listing titles.
"$BIN" --quiet --json --case "$WORK/case" listings > "$WORK/listings.jsonl"
python3 - "$WORK" <<'PY'
import collections, json, pathlib, sys, urllib.parse
work = pathlib.Path(sys.argv[1])
per_vendor, words = collections.Counter(), collections.Counter()
for line in (work / "listings.jsonl").open():
    l = json.loads(line)
    if l.get("vendor"):
        per_vendor[l["vendor"]] += 1
    for w in l["title"].split():
        if w.isalpha() and len(w) > 3:
            words[w.lower()] += 1
vendors = sorted(per_vendor)
(work / "vendors.txt").write_text("".join(f"/api/vendors/{urllib.parse.quote(v, safe='')}\n" for v in vendors))
# Queries: every title word, pairs of them, and vendor names (listing
# documents hold their vendor), shuffled with a fixed seed.
import random
rnd = random.Random(7)
single = [w for w, _ in words.most_common(2000)]
pairs = [f"{rnd.choice(single)} {rnd.choice(single)}" for _ in range(2000)]
names = rnd.sample(vendors, min(2000, len(vendors)))
queries = single + pairs + names
rnd.shuffle(queries)
(work / "words.txt").write_text("".join(f"/api/search?q={urllib.parse.quote(q)}\n" for q in queries))
largest = max(vendors, key=lambda v: (per_vendor[v], v))
(work / "largest.json").write_text(json.dumps({"vendor": largest, "listings": per_vendor[largest], "vendors": len(vendors), "words": len(single), "queries": len(queries)}))
PY

# wrk: each request takes the next path of the list (per thread, round robin).
cat > "$WORK/paths.lua" <<'LUA'
local paths = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  io.write(string.format("JSON {\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, \"requests\": %d, \"errors\": %d, \"non2xx\": %d, \"seconds\": %.3f}\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status,
    summary.duration / 1e6))
end
LUA

"$BIN" --quiet --case "$WORK/case" serve --bind 127.0.0.1:0 --no-auth > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER=$!
for _ in $(seq 100); do grep -q "http://" "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$WORK/serve.out" | head -1); URL="${URL%/}"
echo "== serving at $URL" >&2
# The first dossier and the first search build the server's caches (the
# dossier index, the full-text index): timed once, then the load.
/usr/bin/time -f "%e" -o "$WORK/first_dossier.s" curl -sf -o /dev/null "$URL$(head -1 "$WORK/vendors.txt")"
/usr/bin/time -f "%e" -o "$WORK/first_search.s" curl -sf -o /dev/null "$URL$(head -1 "$WORK/words.txt")"
for what in vendors words; do
  echo "== wrk $what, 32 connections, ${DURATION}s" >&2
  wrk -t2 -c32 -d"${DURATION}s" --latency -s "$WORK/paths.lua" "$URL" -- "$WORK/$what.txt" > "$WORK/wrk-$what.out"
done
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""

LARGEST=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['vendor'])" "$WORK/largest.json")
echo "== report --vendor $LARGEST" >&2
/usr/bin/time -v -o "$WORK/report.time" "$BIN" --quiet --case "$WORK/case" report --vendor "$LARGEST" --out "$WORK/report.html" > /dev/null

python3 - "$WORK" "$LISTINGS" "$VENDORS" "$FEEDBACK" "$DURATION" <<'PY'
import json, pathlib, re, sys
work = pathlib.Path(sys.argv[1])
listings, vendors, feedback, duration = (int(x) for x in sys.argv[2:6])
def wrk(name):
    out = (work / f"wrk-{name}.out").read_text()
    r = json.loads(re.search(r"^JSON (\{.*\})$", out, re.M).group(1))
    r["requests_per_s"] = r["requests"] / r["seconds"]
    return r
t = (work / "report.time").read_text()
g = lambda k: re.search(re.escape(k) + r":\s*(.+)", t).group(1).strip()
wall = 0.0
for part in g("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
    wall = wall * 60 + float(part)
largest = json.loads((work / "largest.json").read_text())
result = {
    "case": {"listings": listings, "vendors": largest["vendors"], "feedback": feedback, "title_words": largest["words"], "search_queries": largest["queries"]},
    "load": {"connections": 32, "threads": 2, "seconds_each": duration},
    "first_dossier_s": float((work / "first_dossier.s").read_text().split()[-1]),
    "first_search_s": float((work / "first_search.s").read_text().split()[-1]),
    "dossier": wrk("vendors"),
    "search": wrk("words"),
    "report": {"vendor": largest["vendor"], "vendor_listings": largest["listings"], "wall_s": wall,
               "peak_rss_mib": int(g("Maximum resident set size (kbytes)")) / 1024,
               "bytes": (work / "report.html").stat().st_size},
}
limit_ms, limit_report = 100.0, 5.0
for k in ["dossier", "search"]:
    r = result[k]
    print(f"{k:8s} p50 {r['p50_ms']:8.2f} ms  p99 {r['p99_ms']:8.2f} ms  ({r['requests_per_s']:.0f} req/s, {r['requests']} requests, "
          f"{r['errors']} errors, {r['non2xx']} non-2xx)  p99 / limit {limit_ms:.0f} ms = {r['p99_ms'] / limit_ms:.3f}")
r = result["report"]
print(f"report   --vendor {r['vendor']} ({r['vendor_listings']} listings): {r['wall_s']:.2f} s, peak {r['peak_rss_mib']:.0f} MiB  "
      f"time / limit {limit_report:.0f} s = {r['wall_s'] / limit_report:.3f}")
print(f"first dossier (builds the dossier index) {result['first_dossier_s']:.2f} s; first search (builds the full-text index) {result['first_search_s']:.2f} s")
ok = all(result[k]["p99_ms"] < limit_ms and result[k]["errors"] == 0 and result[k]["non2xx"] == 0 for k in ["dossier", "search"]) and r["wall_s"] < limit_report
result["targets_met"] = ok
pathlib.Path("bench/serve/last-run.json").write_text(json.dumps(result, indent=2) + "\n")
print("targets met" if ok else "TARGETS NOT MET")
PY
