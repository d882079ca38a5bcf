#!/usr/bin/env bash
# bench/chain: parse + index + multi-input clustering throughput and peak memory of the
# chain crate, against blocks_iterator (a parse pass with previous outputs) and `cat` of
# the same files (read ceiling); optionally against rusty-blockparser's simplestats when
# RUSTY_BLOCKPARSER names its binary (a dir without Core's block index is given one in a
# shadow dir, which that tool needs). Then the streaming cluster engine
# (chain::cluster_stream) over the same index stored as Parquet, in its own process: its
# time, peak memory, bytes per address and full-mainnet projection (it must find the same
# clusters and unions as the in-memory run, else exit 1). Then the streaming build
# (`index_stream`: the index written as Parquet while blocks are read, only the unspent
# outputs and addresses in memory) followed by the same streaming clustering, in a process
# of its own: its time against blocks_iterator (writing included) and its projection.
#
# Our measure and blocks_iterator run REPS times each (default 3), taking turns to go
# first, and the ratio is of their medians (after one more measure that stores the index
# for the streaming clustering, its writes flushed): on this VM one process's fresh memory costs 1-11 s of kernel
# time depending on the host's state at that moment (BENCHMARKS.md, "Huge pages"), which
# decides single runs of a tool holding 2 GiB against one holding 0.4.
#
# Usage: bench/chain/run.sh [--txs N] [--blocks-dir DIR --network NET] [--keep]
#   --txs N        size of the generated sim chain (default 10000000)
#   --blocks-dir   measure this blocks dir instead of generating one (zero XOR key needed
#                  for blocks_iterator; our reader handles either)
# Prints a summary and writes bench/chain/last-run.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
TXS=10000000; DIR=""; NET=regtest; KEEP=0; REPS=${REPS:-3}
while [ $# -gt 0 ]; do
  case "$1" in
    --txs) TXS="$2"; shift 2;;
    --blocks-dir) DIR="$2"; shift 2;;
    --network) NET="$2"; shift 2;;
    --keep) KEEP=1; shift;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
cargo build --release -p chain --examples >&2
BIN=target/release/examples
WORK=$(mktemp -d /tmp/bench-chain.XXXXXX)
if [ -z "$DIR" ]; then
  DIR="$WORK/blocks"
  echo "generating a sim chain of ~$TXS transactions in $DIR" >&2
  $BIN/bench_chain sim "$DIR" "$TXS" > "$WORK/sim.json"
fi
# Warm the page cache once so every tool reads from memory (the numbers compare parsing,
# not the disk); then time cat as the read ceiling.
cat "$DIR"/blk*.dat > /dev/null
CAT_S=$( { /usr/bin/time -f "%e" cat "$DIR"/blk*.dat > /dev/null; } 2>&1 | tail -1 )
[ "$REPS" -ge 1 ] 2>/dev/null || { echo "REPS must be a positive number" >&2; exit 2; }
# A measure of its own stores the index as Parquet (timed apart) for the stored
# clustering, and its writes are flushed before anything is timed.
$BIN/bench_chain measure "$DIR" "$NET" "$WORK/case" > "$WORK/ours-stored.json"
sync
# The tools take turns going first.
for i in $(seq 1 "$REPS"); do
  if [ $((i % 2)) = 1 ]; then
    $BIN/bench_chain measure "$DIR" "$NET" > "$WORK/ours-$i.json"
    $BIN/blocks_iterator_pass "$DIR" "$NET" > "$WORK/bi-$i.json"
  else
    $BIN/blocks_iterator_pass "$DIR" "$NET" > "$WORK/bi-$i.json"
    $BIN/bench_chain measure "$DIR" "$NET" > "$WORK/ours-$i.json"
  fi
done
$BIN/bench_chain cluster-stored "$WORK/case" > "$WORK/stream.json"
$BIN/bench_chain measure-stream "$DIR" "$NET" "$WORK/scase" > "$WORK/streaming.json"
RBP=""
if [ -n "${RUSTY_BLOCKPARSER:-}" ]; then
  # rusty-blockparser finds blocks only through Core's LevelDB block index. A dir without
  # one is given one in a shadow dir (links to its blk files; the dir itself is not
  # touched), written by `bench_chain core-index` (the records Core writes: tested against
  # a real node's index in crates/chain/tests/blocks.rs).
  RBP_DIR="$DIR"
  if [ ! -d "$DIR/index" ]; then
    RBP_DIR="$WORK/rbp-blocks"; mkdir -p "$RBP_DIR"
    for f in "$DIR"/blk*.dat "$DIR"/xor.dat; do [ -e "$f" ] && ln -s "$(readlink -f "$f")" "$RBP_DIR/"; done
    $BIN/bench_chain core-index "$RBP_DIR" "$NET" > /dev/null
  fi
  COIN=bitcoin; [ "$NET" = testnet ] && COIN=testnet3
  # Seconds, peak KiB, user and kernel CPU seconds.
  RBP=$( { /usr/bin/time -f "%e %M %U %S" "$RUSTY_BLOCKPARSER" --coin "$COIN" --blockchain-dir "$RBP_DIR" simplestats > "$WORK/rbp.out"; } 2>&1 | tail -1 )
fi
python3 - "$WORK" "$CAT_S" "$RBP" "$DIR" "$TXS" <<'PY'
import json, sys, pathlib
work, cat_s, rbp, d, txs = pathlib.Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def runs(name):
    return [json.loads(p.read_text()) for p in sorted(work.glob(f"{name}-[0-9]*.json"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))]
def median(rs):
    # The lower middle for an even count.
    return sorted(rs, key=lambda r: r["seconds"])[(len(rs) - 1) // 2]
ours_runs, bi_runs = runs("ours"), runs("bi")
write_s = json.loads((work / "ours-stored.json").read_text())["seconds_write_parquet"]
ours, bi = median(ours_runs), median(bi_runs)
st = json.loads((work / "stream.json").read_text())
if (st["summary"]["clusters"], st["summary"]["unions"]) != (ours["clusters"], ours["unions"]):
    sys.exit(f"streamed clustering differs: {st['summary']} vs {ours['clusters']} clusters, {ours['unions']} unions in memory")
sb = json.loads((work / "streaming.json").read_text())
if (sb["transactions"], sb["clusters"], sb["unions"]) != (ours["transactions"], ours["clusters"], ours["unions"]):
    sys.exit(f"streaming build differs: {sb['transactions']} tx, {sb['clusters']} clusters, {sb['unions']} unions vs {ours}")
sim = json.loads((work / "sim.json").read_text()) if (work / "sim.json").exists() else None
mb = ours["bytes"] / 1e6
res = {
    "blocks_dir": d, "sim": sim, "ours": ours, "cluster_stored": st, "blocks_iterator": bi, "cat_seconds": cat_s,
    "repetitions": len(ours_runs), "ours_seconds_each": [r["seconds"] for r in ours_runs], "blocks_iterator_seconds_each": [r["seconds"] for r in bi_runs],
    "ours_kernel_seconds_each": [r["process_after_cluster"]["cpu_system_seconds"] for r in ours_runs],
    "speedup_vs_blocks_iterator_each": [b["seconds"] / o["seconds"] for o, b in zip(ours_runs, bi_runs)],
    "cat_mb_per_s": mb / cat_s if cat_s else None,
    "speedup_vs_blocks_iterator": bi["seconds"] / ours["seconds"],
    "parse_index_only_speedup_vs_blocks_iterator": bi["seconds"] / ours["seconds_parse_index"],
    "fraction_of_cat_throughput": (mb / ours["seconds"]) / (mb / cat_s) if cat_s else None,
    "memory_ratio_vs_blocks_iterator": ours["vm_hwm_bytes"] / bi["vm_hwm_bytes"],
    # What `dragnet chain import` also does: store the index as Parquet.
    "seconds_write_parquet": write_s,
    "with_parquet_write_speedup_vs_blocks_iterator": bi["seconds"] / (ours["seconds"] + write_s),
    "streaming_build": sb,
    "streaming_build_speedup_vs_blocks_iterator": bi["seconds"] / sb["seconds"],
}
if rbp:
    secs, kib, user, system = rbp.split()
    res["rusty_blockparser"] = {"seconds": float(secs), "vm_hwm_bytes": int(kib) * 1024, "cpu_user_seconds": float(user), "cpu_system_seconds": float(system)}
    res["speedup_vs_rusty_blockparser"] = float(secs) / ours["seconds"]
pathlib.Path("bench/chain/last-run.json").write_text(json.dumps(res, indent=2) + "\n")
g = 1 << 30
print(f"data: {ours['blocks']} blocks, {ours['transactions']:,} tx, {ours['addresses']:,} addresses, {mb:,.1f} MB")
print(f"cat (read ceiling):  {cat_s:.2f} s  {mb / cat_s if cat_s else float('inf'):,.0f} MB/s")
print(f"dragnet chain:       {ours['seconds']:.2f} s (parse+index {ours['seconds_parse_index']:.2f}, cluster {ours['seconds_cluster']:.2f})  "
      f"{ours['mb_per_s']:,.1f} MB/s  {ours['tx_per_s']:,.0f} tx/s  peak {ours['vm_hwm_bytes'] / g:.2f} GiB")
print(f"blocks_iterator:     {bi['seconds']:.2f} s  {mb / bi['seconds']:,.1f} MB/s  {bi['transactions'] / bi['seconds']:,.0f} tx/s  peak {bi['vm_hwm_bytes'] / g:.2f} GiB")
po, pb = ours["process_after_cluster"], bi["process"]
print(f"CPU user / kernel: dragnet {po['cpu_user_seconds']:.1f} / {po['cpu_system_seconds']:.1f} s ({po['minor_faults']:,} page faults), "
      f"blocks_iterator {pb['cpu_user_seconds']:.1f} / {pb['cpu_system_seconds']:.1f} s ({pb['minor_faults']:,})")
print(f"runs (median shown above): dragnet {', '.join(f'{x:.2f}' for x in res['ours_seconds_each'])} s (kernel {', '.join(f'{x:.1f}' for x in res['ours_kernel_seconds_each'])} s); "
      f"blocks_iterator {', '.join(f'{x:.2f}' for x in res['blocks_iterator_seconds_each'])} s; run by run {', '.join(f'{x:.2f}x' for x in res['speedup_vs_blocks_iterator_each'])}")
print(f"ratio vs blocks_iterator (medians): {res['speedup_vs_blocks_iterator']:.2f}x (parse+index alone {res['parse_index_only_speedup_vs_blocks_iterator']:.2f}x; "
      f"adding the Parquet write of the index {res['with_parquet_write_speedup_vs_blocks_iterator']:.2f}x)")
if rbp:
    r = res["rusty_blockparser"]
    print(f"rusty-blockparser simplestats: {r['seconds']:.2f} s  peak {r['vm_hwm_bytes'] / g:.2f} GiB  CPU user {r['cpu_user_seconds']:.1f} s, kernel {r['cpu_system_seconds']:.1f} s")
    print(f"ratio vs rusty-blockparser simplestats (our median): {res['speedup_vs_rusty_blockparser']:.2f}x (target >= 3x)")
print(f"memory: {ours['rss_bytes_per_tx']:.1f} B/tx, {ours['rss_bytes_per_address']:.1f} B/address (peak RSS); "
      f"index heap {ours['heap_bytes_per_tx']:.1f} B/tx + {ours['heap_bytes_per_address']:.1f} B/address")
print(f"full mainnet (1.1e9 tx, 1.5e9 addresses): {ours['mainnet_projection_heap_gib']:.1f} GiB index heap, "
      f"{ours['mainnet_projection_rss_gib']:.1f} GiB scaled to peak RSS")
print(f"streaming clustering of the stored index (own process): {st['seconds']:.2f} s "
      f"(index written as Parquet in {write_s:.2f} s), peak {st['vm_hwm_bytes'] / g:.3f} GiB = "
      f"{st['rss_bytes_per_address']:.1f} B/address; full mainnet (1.5e9 addresses): {st['mainnet_projection_gib']:.1f} GiB "
      f"(peak + 4 B per further address), at most {st['mainnet_projection_whole_peak_per_address_gib']:.1f} GiB (whole peak per address)")
print(f"streaming build (index written while read) + streaming clustering: {sb['seconds']:.2f} s "
      f"(build+write {sb['seconds_build_and_write']:.2f}, cluster {sb['seconds_cluster']:.2f}) = "
      f"{res['streaming_build_speedup_vs_blocks_iterator']:.2f}x blocks_iterator, peak {sb['vm_hwm_bytes'] / g:.2f} GiB; "
      f"{sb['bytes_per_unspent']:.1f} B per unspent output (peak {sb['unspent_peak']:,}), {sb['plan_bytes_per_output']:.2f} B per output for the address plan "
      f"({sb['plan']['partitions']} partition(s), map {sb['plan']['map_bytes'] / g:.2f} GiB); "
      f"full mainnet (1.9e8 unspent, 3.2e9 outputs, 1.5e9 addresses): {sb['mainnet_projection_gib']:.1f} GiB "
      f"(planning {sb['mainnet_projection_planning_gib']:.1f}, building {sb['mainnet_projection_building_gib']:.1f}; "
      f"a {sb['mainnet_plan_map_gib']:.1f} GiB map in each of {sb['mainnet_plan_partitions']:.0f} scans of a spill, {sb['mainnet_plan_disk_gb']:.0f} GB on disk)")
PY
if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
