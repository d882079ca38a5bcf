#!/usr/bin/env bash
# bench/crawl: (1) pages per minute a crawl achieves against the loopback sim
# market with Tor-like latency injected, versus its politeness budget (one
# request per --delay-ms); target >= 90 %: once with one request in flight
# and a latency below the delay, once with a latency three times the delay
# and --concurrency 4 (as over Tor, where responses take seconds). (2) Peak memory of a frontier of
# 1,000,000 URLs (queued, then pages taken and marked done with new links);
# target < 200 MB.
#
# Usage: bench/crawl/run.sh [--latency-ms 500] [--slow-latency-ms 3000] [--concurrency 4]
#                           [--delay-ms 1000] [--pages 60] [--urls 1000000]
# Writes bench/crawl/last-run.json. Needs /usr/bin/time (GNU time).
set -euo pipefail
cd "$(dirname "$0")/../.."
LAT=500; SLOW=3000; CONC=4; DELAY=1000; PAGES=60; URLS=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --latency-ms) LAT="$2"; shift 2;;
    --slow-latency-ms) SLOW="$2"; shift 2;;
    --concurrency) CONC="$2"; shift 2;;
    --delay-ms) DELAY="$2"; shift 2;;
    --pages) PAGES="$2"; shift 2;;
    --urls) URLS="$2"; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
cargo build --release --quiet -p cli >&2
cargo build --release --quiet -p crawl --example frontier_1m >&2
BIN="$PWD/target/release/dragnet"
WORK=$(mktemp -d /tmp/bench-crawl.XXXXXX)
cleanup() { [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# crawl_run NAME LATENCY CONCURRENCY: a fresh sim server and case; the
# server's request log goes to $WORK/NAME.log.
crawl_run() {
  local name="$1" lat="$2" conc="$3"
  "$BIN" sim serve --bind 127.0.0.1:0 --operators 60 --latency-ms "$lat" > "$WORK/$name.serve" 2> "$WORK/$name.log" &
  SERVE_PID=$!
  for _ in $(seq 50); do [ -s "$WORK/$name.serve" ] && break; sleep 0.1; done
  local url
  url=$(awk '{print $2}' "$WORK/$name.serve")
  "$BIN" --quiet case init "$WORK/$name.case" > /dev/null
  echo "== crawl $name: $PAGES pages, delay $DELAY ms, latency $lat ms, concurrency $conc" >&2
  /usr/bin/time -v -o "$WORK/$name.time" "$BIN" --quiet --json --case "$WORK/$name.case" crawl --market placebo \
    --seed "$url/placebo/index.html" --proxy none --allow-clearnet --delay-ms "$DELAY" --jitter-ms 0 \
    --concurrency "$conc" --max-pages "$PAGES" --no-extract > "$WORK/$name.json"
  kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=
}
crawl_run crawl "$LAT" 1
crawl_run slow "$SLOW" "$CONC"
echo "== frontier of $URLS URLs" >&2
/usr/bin/time -v -o "$WORK/frontier.time" target/release/examples/frontier_1m "$WORK" "$URLS" > "$WORK/frontier.json"

python3 - "$WORK" "$DELAY" "$LAT" "$PAGES" "$SLOW" "$CONC" <<'PY'
import json, re, sys, pathlib
work, delay, lat, pages = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
slow, conc = int(sys.argv[5]), int(sys.argv[6])
def tv(name):
    t = (work / f"{name}.time").read_text()
    g = lambda k: re.search(re.escape(k) + r":\s*(.+)", t).group(1).strip()
    wall = 0.0
    for part in g("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    return {"wall_s": wall, "peak_rss_mib": int(g("Maximum resident set size (kbytes)")) / 1024}
budget = 60000 / delay
def run(name, latency, concurrency):
    log = [json.loads(l) for l in (work / f"{name}.log").read_text().splitlines() if l.startswith("{")]
    # The log is written as responses finish: order the request times.
    t = sorted(r["t_ms"] for r in log)
    # Rate over the requests themselves: (n - 1) gaps between first and last request.
    span_min = (t[-1] - t[0]) / 60000 if len(t) > 1 else 0
    achieved = (len(t) - 1) / span_min if span_min else 0
    crawl = json.loads((work / f"{name}.json").read_text())["crawl"]
    return {"latency_ms": latency, "delay_ms": delay, "concurrency": concurrency, "requests": len(t),
            "statuses": sorted({r["status"] for r in log}), "pages_per_min": achieved, "budget_pages_per_min": budget,
            "ratio": achieved / budget, "process": tv(name), "stored": crawl["stored"], "stop": crawl["stop"]}
runs = {"crawl": run("crawl", lat, 1), "slow": run("slow", slow, conc)}
fr = json.loads((work / "frontier.json").read_text())
out = {
    "crawl": runs["crawl"],
    "crawl_slow_responses": runs["slow"],
    "frontier": {**fr, "process": tv("frontier")},
    "targets": {"crawl_ratio_at_least_0_9": runs["crawl"]["ratio"] >= 0.9,
                "slow_crawl_ratio_at_least_0_9": runs["slow"]["ratio"] >= 0.9,
                "frontier_under_200_mib": tv("frontier")["peak_rss_mib"] < 200},
}
pathlib.Path("bench/crawl/last-run.json").write_text(json.dumps(out, indent=1) + "\n")
for name, r in runs.items():
    print(f"{name}: {r['requests']} requests at {r['pages_per_min']:.1f} pages/min vs budget {budget:.1f} (ratio {r['ratio']:.3f}); "
          f"latency {r['latency_ms']} ms, delay {delay} ms, concurrency {r['concurrency']}; peak RSS {r['process']['peak_rss_mib']:.1f} MiB")
print(f"frontier: {fr['urls']:,} URLs queued in {fr['queue_s']:.1f} s; {fr['taken']} pages taken+done at "
      f"{fr['per_page_ms']:.2f} ms each; peak RSS {tv('frontier')['peak_rss_mib']:.1f} MiB (limit 200); db {fr['db_bytes']/1e6:.0f} MB")
print("targets:", out["targets"])
PY
