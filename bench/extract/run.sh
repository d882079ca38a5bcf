#!/usr/bin/env bash
# bench/extract: `dragnet extract` over every shared market page against a
# BeautifulSoup+lxml peer applying the same profiles to the same pages, in
# one run. Prints pages/s, MB/s and the ratio. Needs: pip install beautifulsoup4 lxml
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
pages="${1:-$root/../shared/data/markets/pages}"
[ -d "$pages" ] || { echo "no pages at $pages" >&2; exit 1; }

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p cli
bin="$root/target/release/dragnet"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
mapfile -t files < <(find "$pages" -type f ! -name 'LICENSE*' | sort)
bytes=$(cat "${files[@]}" | wc -c)

"$bin" --quiet case init "$tmp/case" >/dev/null
"$bin" --quiet --case "$tmp/case" import "$pages" >/dev/null 2>&1

run_ours() { # threads
  local t0 t1
  t0=$(date +%s.%N)
  "$bin" --quiet --case "$tmp/case" extract --threads "$1" >/dev/null 2>&1
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
ours1=$(run_ours 1)
ours2=$(run_ours 0)
peer_json=$(python3 "$here/peer_bs4.py" "$root/crates/extract/profiles" "${files[@]}")
peer=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['seconds'])" "$peer_json")
stored=$(sqlite3 -version >/dev/null 2>&1 && echo "" || echo "")
n=${#files[@]}
python3 - "$n" "$bytes" "$ours1" "$ours2" "$peer" "$peer_json" <<'PY'
import sys, json
n, b = int(sys.argv[1]), int(sys.argv[2])
o1, o2, p = map(float, sys.argv[3:6])
peer = json.loads(sys.argv[6])
mb = b / 1e6
print(f"pages: {n}, {mb:.1f} MB")
print(f"dragnet extract, 1 thread : {o1:7.2f} s  {n/o1:8.1f} pages/s  {mb/o1:7.2f} MB/s")
print(f"dragnet extract, all cores: {o2:7.2f} s  {n/o2:8.1f} pages/s  {mb/o2:7.2f} MB/s")
print(f"peer bs4+lxml   , 1 thread : {p:7.2f} s  {n/p:8.1f} pages/s  {mb/p:7.2f} MB/s  ({peer['records']} records)")
print(f"ratio (peer time / dragnet time): 1 thread {p/o1:.1f}x, all cores {p/o2:.1f}x")
PY
