#!/usr/bin/env python3
"""ConfigSync's initial sync against one peer, timed in pairs: for a ratio near 1 that a median of a
few rounds cannot settle on a noisy machine.

Each pair is ConfigSync's `once` and the peer back to back into fresh folders, the order alternating
from pair to pair, with an untimed `sync` before each (bench/peers.py's timed()); the ratio is taken
within each pair, so the machine's drift between pairs cancels. Prints both medians, the median and
quartiles of the pairs' ratios, and how many pairs ConfigSync won.

    python3 bench/paired.py --kind s3 --pairs 15 --count 200 --size 1048576 --peer "rclone sync"
    python3 bench/paired.py --kind git --pairs 21 --count 2000 --size 1024 --delete

--peer is a tool name of bench/peers.py (default: the source's first peer); --delete removes each
folder after its run (ext4 then creates the next files after many deletes, which is slower).
Uses the build bench/run.sh publishes (or $CONFIGSYNC) and the servers of bench/peers.py.
"""
import argparse, os, shutil, statistics, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

CONFIGSYNC = "ConfigSync (`once`)"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=list(peers.KINDS), required=True)
    parser.add_argument("--pairs", type=int, default=21)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--peer")
    parser.add_argument("--delete", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="configsync-paired-")
    try:
        for kind, folder in peers.each_kind(args.kind, tmp):
            tree = os.path.join(folder, "tree")
            peers.make_tree(tree, args.count, args.size)
            kind.seed("t", tree)
            port = getattr(kind, "port", None)
            tools = peers.tools_for(kind, "t", port)
            peer = args.peer or next(name for name in tools if name != CONFIGSYNC)
            walls = {CONFIGSYNC: [], peer: []}
            ratios = []
            for n in range(args.pairs):
                order = [CONFIGSYNC, peer] if n % 2 == 0 else [peer, CONFIGSYNC]
                pair = {}
                for tool in order:
                    dest = os.path.join(folder, f"dest-{n}-{list(walls).index(tool)}")
                    pair[tool] = peers.timed(*peers.command_for(kind, "t", port, tools[tool], dest)())[0]
                    walls[tool].append(pair[tool])
                    if args.delete:
                        shutil.rmtree(dest, ignore_errors=True)
                ratios.append(pair[CONFIGSYNC] / pair[peer])
            low, _, high = statistics.quantiles(ratios, n=4)
            print(f"{kind.name}, {args.count} x {args.size} bytes, {args.pairs} pairs: ConfigSync {peers.med(walls[CONFIGSYNC]):.0f} ms, "
                  f"{peer} {peers.med(walls[peer]):.0f} ms; ratio within pairs: median {statistics.median(ratios):.2f}, "
                  f"quartiles {low:.2f}-{high:.2f}, below 1 in {sum(r < 1 for r in ratios)} of {args.pairs}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
