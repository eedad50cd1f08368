#!/usr/bin/env python3
"""What the .NET runtime costs ConfigSync: start-up to ready and idle memory per build and setting.

One daemon with one sync of a local folder (3 files), interval 1 s. For each configuration: the
time from spawning the process to the first 200 from /readyz (median of RUNS), and after 20 s of
polling the resident memory (RSS) and CPU per minute. Builds: framework-dependent as `dotnet
publish` makes it (JIT only), framework-dependent ReadyToRun (what the image shipped before), and
self-contained, trimmed, composite ReadyToRun (what the image ships). Settings: tiered PGO on (the
.NET default; the project turns it off), W^X off, GC limits. RSS is split into anonymous memory (the
heaps: what the process really owns) and file-backed pages (mapped code the kernel can drop and share).

    python3 bench/runtime.py --runs 5 --out artifacts/bench/runtime.md   (through bench/run.sh)
"""
import argparse, os, shutil, socket, statistics, subprocess, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = "self-contained, trimmed, composite ReadyToRun (the image)"
BUILDS = {
    "JIT only (`dotnet publish`)": os.path.join(ROOT, "artifacts", "bench", "configsync-jit", "configsync"),
    "framework-dependent ReadyToRun (the image before)": os.path.join(ROOT, "artifacts", "bench", "configsync-fdd", "configsync"),
    IMAGE: os.path.join(ROOT, "artifacts", "bench", "configsync", "configsync"),
}
SETTINGS = [
    ("JIT only (`dotnet publish`)", "as built", {}),
    ("framework-dependent ReadyToRun (the image before)", "as built (tiered PGO off in runtimeconfig)", {}),
    (IMAGE, "as built (tiered PGO off in runtimeconfig)", {}),
    (IMAGE, "tiered PGO back on: `DOTNET_TieredPGO=1`", {"DOTNET_TieredPGO": "1"}),
    (IMAGE, "W^X off: `DOTNET_EnableWriteXorExecute=0`", {"DOTNET_EnableWriteXorExecute": "0"}),
    (IMAGE, "`DOTNET_GCHeapHardLimit=0x2000000` (32 MiB)", {"DOTNET_GCHeapHardLimit": "0x2000000"}),
    (IMAGE, "`DOTNET_GCConserveMemory=9`", {"DOTNET_GCConserveMemory": "9"}),
    (IMAGE, "`DOTNET_GCgen0size=0x80000` (512 KiB gen0 budget)", {"DOTNET_GCgen0size": "0x80000"}),
    (IMAGE, "`DOTNET_TieredCompilation=0` (full JIT, no tiers)", {"DOTNET_TieredCompilation": "0"}),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, env, source, root, port):
    return subprocess.Popen([binary, "run", "--source", "dir", "--path", source, "--root", root, "--interval", "1s",
                             "--listen", f"127.0.0.1:{port}"], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ready_ms(binary, env, source, tmp):
    port = free_port()
    root = tempfile.mkdtemp(dir=tmp)
    began = time.monotonic()
    proc = start(binary, env, source, root, port)
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1).status == 200:
                break
        except Exception:
            if proc.poll() is not None:
                raise SystemExit(f"{binary} exited")
        time.sleep(0.002)
    elapsed = (time.monotonic() - began) * 1000
    proc.terminate()
    proc.wait()
    return elapsed


def idle(binary, env, source, tmp):
    port = free_port()
    proc = start(binary, env, source, tempfile.mkdtemp(dir=tmp), port)
    time.sleep(20)
    with open(f"/proc/{proc.pid}/stat") as f:
        before = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
    time.sleep(30)
    with open(f"/proc/{proc.pid}/stat") as f:
        after = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
    with open(f"/proc/{proc.pid}/status") as f:
        status = {l.split(":")[0]: int(l.split()[1]) // 1024 for l in f if l.startswith(("VmRSS", "RssAnon", "RssFile", "RssShmem"))}
    proc.terminate()
    proc.wait()
    return status, (after - before) / os.sysconf("SC_CLK_TCK") * 2 * 1000


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
        for build, setting, env in SETTINGS:
            binary = BUILDS[build]
            ready_ms(binary, env, source, tmp)  # warm the page cache
            ready = statistics.median(ready_ms(binary, env, source, tmp) for _ in range(args.runs))
            rss, cpu = idle(binary, env, source, tmp)
            rows.append(f"| {build} | {setting} | {ready:.0f} ms | {rss['VmRSS']} MiB | {rss['RssAnon']} MiB | {rss['RssFile'] + rss['RssShmem']} MiB | {cpu:.0f} ms |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(args.out, "w") as f:
        f.write("| build | setting | start to ready (median) | RSS after 20 s | of which anonymous | of which mapped files | CPU per minute (1 s polls) |\n|---|---|---|---|---|---|---|\n")
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
