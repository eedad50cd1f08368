#!/usr/bin/env python3
"""The builds side by side on the sync path: what each costs per sync once it runs, not at start.

For S3 and Azure with the 2,000 x 1 KiB tree (where listing and per-object work dominate) and git
with the same tree: `once` from a fresh volume (wall and CPU), then inside a running daemon the
first sync, a no-change poll and a one-change poll (configsync_sync_duration_seconds). Builds are
interleaved round by round, so the machine's drift hits them alike. Uses the builds bench/run.sh
publishes and the servers and peers of bench/peers.py.

    python3 bench/builds.py --runs 5 --out artifacts/bench/builds.md   (through bench/run.sh)
"""
import os, shutil, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
import runtime  # noqa: E402
from image_env import image_env  # noqa: E402

# The same builds and settings bench/runtime.py measures at start, under the labels this table uses.
BUILDS = {
    "composite ReadyToRun (an earlier image)": (runtime.BUILDS[runtime.R2R], runtime.R2R_ENV),
    "NativeAOT, type data packed, position-independent (the image before)": (runtime.BUILDS[runtime.PIE], image_env()),
    "NativeAOT, speed-optimized": (runtime.BUILDS["NativeAOT, speed-optimized"], image_env()),
    "NativeAOT, size-optimized (the image)": (runtime.BUILDS[runtime.IMAGE], image_env()),
}


def main():
    args = peers.bench_args()
    tmp = tempfile.mkdtemp(prefix="configsync-builds-")
    rows = []
    try:
        for kind, folder in peers.each_kind(args.only, tmp):
            tree = os.path.join(folder, "tree")
            peers.make_tree(tree, 2000, 1024)
            kind.seed("t2000", tree)
            port = getattr(kind, "port", None)
            figures = {name: ([], [], [], [], []) for name in BUILDS}
            calls = 0
            for r in range(args.runs):
                for name, (binary, env) in BUILDS.items():
                    once_wall, once_cpu, first, noch, chg = figures[name]
                    cfg = os.path.join(folder, f"once-{r}-{list(BUILDS).index(name)}.yaml")
                    with open(cfg, "w") as f:
                        f.write(peers.configsync_config(kind.configsync_source("t2000", port), cfg + ".volume"))
                    wall, cpu = peers.timed([binary, "once", "--no-signal", "--config", cfg], env)
                    once_wall.append(wall)
                    once_cpu.append(cpu)
                    calls += 1
                    fresh = os.path.join(folder, f"daemon-{calls}")
                    os.makedirs(fresh)
                    f_ms, n_ms, c_ms = peers.daemon_polls(kind, "t2000", port, fresh, 1, seq_base=10000 + calls, binary=binary, env=env)
                    first.append(f_ms)
                    noch.append(n_ms)
                    chg.append(c_ms)
            for name, (once_wall, once_cpu, first, noch, chg) in figures.items():
                rows.append(f"| {kind.name} | {name} | {peers.med(once_wall):.0f} ms | {peers.med(once_cpu):.0f} ms | "
                            f"{peers.med(first):.0f} ms | {peers.med(noch):.0f} ms | {peers.med(chg):.0f} ms |")
            print(f"{kind.name}: done", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(args.out, "w") as f:
        f.write("| source (2,000 x 1 KiB) | build | `once`: wall | `once`: CPU | daemon: first sync | daemon: no-change poll | daemon: one-change poll |\n")
        f.write("|---|---|---|---|---|---|---|\n")
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
