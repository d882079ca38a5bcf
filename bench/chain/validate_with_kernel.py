#!/usr/bin/env python3
"""Feed every block of a generated regtest blocks directory to Bitcoin Core's validation
engine (libbitcoinkernel via the PyPI package py-bitcoinkernel, module `pbk`) and check
that all are accepted and become the active chain.

Usage: validate_with_kernel.py BLOCKS_DIR [EXPECTED_TIP_HASH]
Exit 0: every block accepted, tip as expected. Exit 1: a block was rejected (its height,
hash and the kernel's result are printed). Exit 3: the `pbk` module is missing.

Blocks are read from blk*.dat in file order, XOR-decoded with xor.dat, and the genesis
block (which the kernel already has) is skipped.
"""
import pathlib
import sys
import tempfile

try:
    import pbk
except ImportError:
    print("pbk (pip install py-bitcoinkernel==0.1.0a5) is not installed", file=sys.stderr)
    sys.exit(3)

MAGIC = bytes.fromhex("fabfb5da")


def records(blocks_dir: pathlib.Path):
    key_path = blocks_dir / "xor.dat"
    key = key_path.read_bytes() if key_path.exists() else bytes(8)
    for f in sorted(blocks_dir.glob("blk*.dat")):
        data = bytearray(f.read_bytes())
        if any(key):
            for i in range(len(data)):
                data[i] ^= key[i % 8]
        pos = 0
        while pos + 8 <= len(data) and data[pos:pos + 4] == MAGIC:
            size = int.from_bytes(data[pos + 4:pos + 8], "little")
            yield f.name, pos, bytes(data[pos + 8:pos + 8 + size])
            pos += 8 + size


def main() -> int:
    blocks_dir = pathlib.Path(sys.argv[1])
    expected_tip = sys.argv[2] if len(sys.argv) > 2 else None
    with tempfile.TemporaryDirectory() as tmp:
        opts = pbk.ContextOptions()
        opts.set_chainparams(pbk.ChainParameters(pbk.ChainType.REGTEST))
        ctx = pbk.Context(opts)
        cm_opts = pbk.ChainstateManagerOptions(ctx, tmp, str(pathlib.Path(tmp) / "blocks"))
        chainman = pbk.ChainstateManager(cm_opts)
        n = 0
        for i, (name, offset, raw) in enumerate(records(blocks_dir)):
            if i == 0:
                continue  # genesis: the kernel has it already
            block = pbk.Block(raw)
            try:
                new = chainman.process_block(block)
            except Exception as e:  # ProcessBlockException carries the kernel's code
                print(f"REJECTED {name} offset {offset} (block {i}): {e!r}", file=sys.stderr)
                return 1
            if not new:
                print(f"REJECTED {name} offset {offset} (block {i}): not new (duplicate?)", file=sys.stderr)
                return 1
            n += 1
        tip = chainman.get_active_chain()
        height = tip.height
        tip_hash = str(chainman.best_entry.block_hash)
        print(f"accepted {n} blocks; active chain height {height}, tip {tip_hash}")
        if height != n:
            print(f"active height {height} != {n} blocks fed: some block was not connected", file=sys.stderr)
            return 1
        if expected_tip and tip_hash != expected_tip:
            print(f"tip {tip_hash} != expected {expected_tip}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
