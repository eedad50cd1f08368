#!/usr/bin/env python3
"""What the .NET runtime costs ConfigSync: start-up to ready and idle memory per build and setting.

One daemon with one sync of a local folder (3 files), interval 1 s. For each configuration: the
time from spawning the process to the first 200 from /readyz (median of RUNS); then, all
configurations running side by side, the CPU used in the first minute and in the second, and the
resident memory (RSS) after two minutes. Builds: framework-dependent as `dotnet
publish` makes it (JIT only), self-contained, trimmed, composite ReadyToRun (what the image shipped
before), and NativeAOT, optimized for speed and for size (what the image ships), and with its type data
packed in a position-independent executable (the image before). Settings: GC limits.
RSS is split into anonymous memory (the heaps, and for NativeAOT the type data it unpacks at start:
what the process really owns) and file-backed pages (mapped code the kernel can drop and share).

    python3 bench/runtime.py --runs 5 --out artifacts/bench/runtime.md   (through bench/run.sh)
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from image_env import image_env  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = "NativeAOT, size-optimized (the image)"
R2R = "self-contained, trimmed, composite ReadyToRun (an earlier image)"
PIE = "NativeAOT, size-optimized, type data packed, position-independent (the image before)"
BUILDS = {
    "JIT only (`dotnet publish`)": os.path.join(ROOT, "artifacts", "bench", "configsync-jit", "configsync"),
    R2R: os.path.join(ROOT, "artifacts", "bench", "configsync-r2r", "configsync"),
    "NativeAOT, speed-optimized": os.path.join(ROOT, "artifacts", "bench", "configsync-aot-speed", "configsync"),
    PIE: os.path.join(ROOT, "artifacts", "bench", "configsync-aot-pie", "configsync"),
    IMAGE: os.path.join(ROOT, "artifacts", "bench", "configsync", "configsync"),
}
# What the image ran the ReadyToRun build with: workstation GC, no tiered PGO, a 4 MiB gen0 budget.
R2R_ENV = {"DOTNET_gcServer": "0", "DOTNET_TieredPGO": "0", "DOTNET_GCgen0size": "400000"}
SETTINGS = [
    ("JIT only (`dotnet publish`)", "as built", {}),
    (R2R, "as the image ran it (" + ", ".join(f"`{k}={v}`" for k, v in R2R_ENV.items()) + ")", R2R_ENV),
    (R2R, "`DOTNET_TieredCompilation=0` (precompiled code as is, the rest fully optimized at once)", {**R2R_ENV, "DOTNET_TieredCompilation": "0"}),
    ("NativeAOT, speed-optimized", "as the image runs it", image_env()),
    (PIE, "as the image runs it", image_env()),
    (IMAGE, "as built", {}),
    (IMAGE, "as the image runs it (its ENV: " + ", ".join(f"`{k}={v}`" for k, v in image_env().items()) + ")", image_env()),
    (IMAGE, "`DOTNET_GCConserveMemory=9`", {**image_env(), "DOTNET_GCConserveMemory": "9"}),
    (IMAGE, "`DOTNET_GCgen0size=80000` (512 KiB gen0 budget)", {**image_env(), "DOTNET_GCgen0size": "80000"}),
]
# No HTTP surface (`http.listen: off`, as the git-sync drop-in runs without --http-bind): Kestrel is never
# started. There is no /readyz, so its start is timed to the first publish (the live link appearing).
HEADLESS = (IMAGE, "as the image runs it, `http.listen: off` (no Kestrel; timed to the first publish)", image_env())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, env, source, root, port):
    """port None: no HTTP surface (`--listen off`, Kestrel never loaded)."""
    return subprocess.Popen([binary, "run", "--source", "dir", "--path", source, "--root", root, "--interval", "1s",
                             "--listen", "off" if port is None else f"127.0.0.1:{port}"], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def is_ready(port, root):
    if port is None:
        return os.path.islink(os.path.join(root, "current"))
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1).status == 200
    except Exception:
        return False


def ready_ms(binary, env, source, tmp, headless=False):
    port = None if headless else free_port()
    root = tempfile.mkdtemp(dir=tmp)
    began = time.monotonic()
    proc = start(binary, env, source, root, port)
    while not is_ready(port, root):
        if proc.poll() is not None:
            raise SystemExit(f"{binary} exited")
        time.sleep(0.002)
    elapsed = (time.monotonic() - began) * 1000
    proc.terminate()
    proc.wait()
    return elapsed


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        return sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13]) / os.sysconf("SC_CLK_TCK") * 1000


def idle(settings, source, tmp):
    """All configurations at once (idle daemons barely compete): CPU in the first minute (start-up and
    tiered compilation promoting hot methods) and in the second (what an idle sidecar costs), then RSS."""
    procs = []
    for build, setting, env in settings:
        procs.append(start(BUILDS[build], env, source, tempfile.mkdtemp(dir=tmp), None if setting == HEADLESS[1] else free_port()))
    time.sleep(60)
    first = [cpu_ms(p.pid) for p in procs]
    time.sleep(60)
    results = []
    for p, cpu0 in zip(procs, first):
        with open(f"/proc/{p.pid}/status") as f:
            status = {l.split(":")[0]: int(l.split()[1]) // 1024 for l in f if l.startswith(("VmRSS", "RssAnon", "RssFile", "RssShmem"))}
        results.append((status, cpu0, cpu_ms(p.pid) - cpu0))
        p.terminate()
        p.wait()
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="configsync-runtime-")
    source = os.path.join(tmp, "source")
    os.makedirs(source)
    for i in range(3):
        with open(os.path.join(source, f"f{i}.yaml"), "w") as f:
            f.write(f"key{i}: value\n")
    rows = []
    try:
        ready = []
        settings = SETTINGS + [HEADLESS]
        for build, setting, env in settings:
            binary = BUILDS[build]
            headless = setting == HEADLESS[1]
            ready_ms(binary, env, source, tmp, headless)  # warm the page cache
            ready.append(statistics.median(ready_ms(binary, env, source, tmp, headless) for _ in range(args.runs)))
        for (build, setting, _), ms, (rss, first, second) in zip(settings, ready, idle(settings, source, tmp)):
            rows.append(f"| {build} | {setting} | {ms:.0f} ms | {rss['VmRSS']} MiB | {rss['RssAnon']} MiB | {rss['RssFile'] + rss['RssShmem']} MiB | {first:.0f} ms | {second:.0f} ms |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(args.out, "w") as f:
        f.write("| build | setting | start to ready (median) | RSS after 2 min | of which anonymous | of which mapped files (and W^X double maps) | CPU in the first minute | CPU in the second minute |\n|---|---|---|---|---|---|---|---|\n")
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
