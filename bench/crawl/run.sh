#!/usr/bin/env bash
# bench/crawl: (1) pages per minute a crawl achieves against the loopback sim
# market with Tor-like latency injected, versus its politeness budget (one
# request per --delay-ms); target >= 90 %. (2) Peak memory of a frontier of
# 1,000,000 URLs (queued, then pages taken and marked done with new links);
# target < 200 MB.
#
# Usage: bench/crawl/run.sh [--latency-ms 500] [--delay-ms 1000] [--pages 60] [--urls 1000000]
# Writes bench/crawl/last-run.json. Needs /usr/bin/time (GNU time).
set -euo pipefail
cd "$(dirname "$0")/../.."
LAT=500; DELAY=1000; PAGES=60; URLS=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --latency-ms) LAT="$2"; shift 2;;
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

"$BIN" sim serve --bind 127.0.0.1:0 --operators 60 --latency-ms "$LAT" > "$WORK/serve.out" 2> "$WORK/serve.log" &
SERVE_PID=$!
for _ in $(seq 50); do [ -s "$WORK/serve.out" ] && break; sleep 0.1; done
URL=$(awk '{print $2}' "$WORK/serve.out")
"$BIN" --quiet case init "$WORK/case" > /dev/null
echo "== crawl: $PAGES pages, delay $DELAY ms, latency $LAT ms" >&2
/usr/bin/time -v -o "$WORK/crawl.time" "$BIN" --quiet --json --case "$WORK/case" crawl --market placebo \
  --seed "$URL/placebo/index.html" --proxy none --allow-clearnet --delay-ms "$DELAY" --jitter-ms 0 \
  --max-pages "$PAGES" --no-extract > "$WORK/crawl.json"
echo "== frontier of $URLS URLs" >&2
/usr/bin/time -v -o "$WORK/frontier.time" target/release/examples/frontier_1m "$WORK" "$URLS" > "$WORK/frontier.json"

python3 - "$WORK" "$DELAY" "$LAT" "$PAGES" <<'PY'
import json, re, sys, pathlib
work, delay, lat, pages = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def tv(name):
    t = (work / f"{name}.time").read_text()
    g = lambda k: re.search(re.escape(k) + r":\s*(.+)", t).group(1).strip()
    wall = 0.0
    for part in g("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    return {"wall_s": wall, "peak_rss_mib": int(g("Maximum resident set size (kbytes)")) / 1024}
log = [json.loads(l) for l in (work / "serve.log").read_text().splitlines() if l.startswith("{")]
t = [r["t_ms"] for r in log]
# Rate over the requests themselves: (n - 1) gaps between first and last request.
span_min = (t[-1] - t[0]) / 60000 if len(t) > 1 else 0
achieved = (len(t) - 1) / span_min if span_min else 0
budget = 60000 / delay
crawl = json.loads((work / "crawl.json").read_text())["crawl"]
fr = json.loads((work / "frontier.json").read_text())
out = {
    "crawl": {"latency_ms": lat, "delay_ms": delay, "requests": len(t), "statuses": sorted({r["status"] for r in log}),
              "pages_per_min": achieved, "budget_pages_per_min": budget, "ratio": achieved / budget,
              "process": tv("crawl"), "stored": crawl["stored"], "stop": crawl["stop"]},
    "frontier": {**fr, "process": tv("frontier")},
    "targets": {"crawl_ratio_at_least_0_9": achieved / budget >= 0.9,
                "frontier_under_200_mib": tv("frontier")["peak_rss_mib"] < 200},
}
pathlib.Path("bench/crawl/last-run.json").write_text(json.dumps(out, indent=1) + "\n")
print(f"crawl: {len(t)} requests at {achieved:.1f} pages/min vs budget {budget:.1f} (ratio {achieved/budget:.3f}); "
      f"latency {lat} ms, delay {delay} ms; crawl peak RSS {tv('crawl')['peak_rss_mib']:.1f} MiB")
print(f"frontier: {fr['urls']:,} URLs queued in {fr['queue_s']:.1f} s; {fr['taken']} pages taken+done at "
      f"{fr['per_page_ms']:.2f} ms each; peak RSS {tv('frontier')['peak_rss_mib']:.1f} MiB (limit 200); db {fr['db_bytes']/1e6:.0f} MB")
print("targets:", out["targets"])
PY
