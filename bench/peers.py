#!/usr/bin/env python3
"""ConfigSync side by side with the tools users would pick instead, on this machine, in one run.

Sources: s3rver and Azurite (npm, tests/servers), git daemon. Peers: rclone sync and aws s3 sync
(S3), rclone sync (Azure Blob), git clone / fetch + checkout (Git). Trees: 2,000 x 1 KiB in 20
folders, and 200 x 1 MiB. For each: initial sync (wall, CPU of the process and its children),
no-change poll (wall, CPU, requests the server saw), one changed file (wall, requests), the tools
taking turns round by round in a rotating order. Requests are counted in a separate pass through
a forwarding proxy (so the proxy costs no timed run). Then
the daemon: idle RSS and CPU with 1 and 10 syncs, and the time from a change at the source to the
app's signal (1 s interval, and an on-demand trigger).

    python3 bench/peers.py --runs 5 --out artifacts/bench/peers.md
Run through bench/run.sh, which installs the peers and publishes ConfigSync as the image does.
"""
import argparse, http.client, http.server, json, os, shlex, shutil, socket, statistics, subprocess, sys
import tempfile, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVERS = os.path.join(ROOT, "tests", "servers", "node_modules")
CS = os.environ.get("CONFIGSYNC", os.path.join(ROOT, "artifacts", "bench", "configsync", "configsync"))
# ConfigSync runs with the image's runtime settings (the peers ignore DOTNET_* variables).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from image_env import image_env  # noqa: E402
os.environ.update(image_env())
AZ_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="  # Azurite's public dev key
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "b@example.com", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
TREES = {"2,000 x 1 KiB": (2000, 1024), "200 x 1 MiB": (200, 1024 * 1024)}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise SystemExit(f"server on {port} exited")
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def timed(cmd, env=None, cwd=None):
    """Runs cmd; returns (wall ms, CPU ms of it and the children it waited for). Whatever is still
    dirty in the page cache is written out first, untimed: ConfigSync's syncfs would otherwise pay
    for the files the tool before it left unflushed (and the server's copy of a tree just seeded),
    and a peer would share the disk with that writeback."""
    os.sync()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.monotonic() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err[-2000:]}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def run(cmd, env=None, cwd=None):
    return subprocess.run(cmd, env={**os.environ, **(env or {})}, cwd=cwd, check=True, capture_output=True, text=True).stdout


def med(values):
    return statistics.median(values) if values else float("nan")


class CountingProxy:
    """Forwards every request unchanged (Host included, so signatures verify) and counts it."""

    def __init__(self, upstream_port):
        self.requests = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                proxy.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers.items():
                    conn.putheader(k, v)
                conn.endheaders(body)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response_only(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = forward

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self):
        taken, self.requests = self.requests, []
        lists = sum(1 for m, p in taken if m == "GET" and ("list-type=" in p or "comp=list" in p))
        gets = sum(1 for m, p in taken if m == "GET") - lists
        heads = sum(1 for m, _ in taken if m == "HEAD")
        other = len(taken) - lists - gets - heads
        return f"{lists} LIST, {gets} GET" + (f", {heads} HEAD" if heads else "") + (f", {other} other" if other else "")

    def close(self):
        self.server.shutdown()


def make_tree(folder, count, size):
    for i in range(count):
        path = os.path.join(folder, f"dir{i % 20}", f"file{i}.yaml")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(os.urandom(size))


class S3:
    name = "S3 (s3rver)"

    def __init__(self, tmp):
        self.port = free_port()
        self.proc = subprocess.Popen(["node", os.path.join(SERVERS, "s3rver", "bin", "s3rver.js"), "-d", os.path.join(tmp, "s3data"),
                                      "-a", "127.0.0.1", "-p", str(self.port), "--silent", "--configure-bucket", "config"],
                                     env={**os.environ, "NODE_OPTIONS": "--openssl-legacy-provider"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc)
        time.sleep(0.5)
        self.tmp = tmp

    def aws_env(self):
        return {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true"}

    def seed(self, prefix, folder):
        run(["/usr/bin/aws", "s3", "cp", "--recursive", "--only-show-errors", folder, f"s3://config/{prefix}",
             "--endpoint-url", f"http://127.0.0.1:{self.port}"], self.aws_env())

    def change(self, prefix, seq):
        path = os.path.join(self.tmp, "changed")
        with open(path, "w") as f:
            f.write(f"changed {seq}\n")
        run(["/usr/bin/aws", "s3", "cp", "--only-show-errors", path, f"s3://config/{prefix}/dir7/file7.yaml",
             "--endpoint-url", f"http://127.0.0.1:{self.port}"], self.aws_env())

    def configsync_source(self, prefix, port):
        keys = os.path.join(self.tmp, "keys")
        os.makedirs(keys, exist_ok=True)
        for n in ("id", "secret"):
            with open(os.path.join(keys, n), "w") as f:
                f.write("S3RVER\n")
        return (f"type: s3\nbucket: config\nprefix: {prefix}\nregion: us-east-1\nendpoint: http://127.0.0.1:{port}\n"
                f"auth:\n  accessKeyIdFile: {keys}/id\n  secretAccessKeyFile: {keys}/secret\n")

    def peers(self, prefix, port):
        env = {"RCLONE_CONFIG": "/dev/null", "RCLONE_CONFIG_S3_TYPE": "s3", "RCLONE_CONFIG_S3_PROVIDER": "Other",
               "RCLONE_CONFIG_S3_ENDPOINT": f"http://127.0.0.1:{port}", "RCLONE_CONFIG_S3_ACCESS_KEY_ID": "S3RVER",
               "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY": "S3RVER", "RCLONE_CONFIG_S3_FORCE_PATH_STYLE": "true",
               "RCLONE_CONFIG_S3_REGION": "us-east-1", "AWS_CA_BUNDLE": ""}
        return {
            "rclone sync": lambda dest: (["rclone", "sync", f"s3:config/{prefix}", dest, "--transfers", "16", "--checkers", "16", "--fast-list"], env),
            "aws s3 sync": lambda dest: (["/usr/bin/aws", "s3", "sync", "--only-show-errors", f"s3://config/{prefix}", dest,
                                          "--endpoint-url", f"http://127.0.0.1:{port}"], self.aws_env()),
        }

    def close(self):
        self.proc.terminate()


class Azure:
    name = "Azure Blob (Azurite)"

    def __init__(self, tmp):
        self.port = free_port()
        self.proc = subprocess.Popen(["node", os.path.join(SERVERS, "azurite", "dist", "src", "blob", "main.js"), "--blobHost", "127.0.0.1",
                                      "--blobPort", str(self.port), "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc)
        self.tmp = tmp
        sas = run(["dotnet", "run", os.path.join(ROOT, "bench", "azure-sas.cs"), "--", self.connection(self.port), "config"]).strip()
        self.sas_query = sas.split("?", 1)[1]

    def connection(self, port):
        return (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZ_KEY};"
                f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;")

    def rclone_env(self, port):
        return {"RCLONE_CONFIG": "/dev/null", "RCLONE_CONFIG_AZ_TYPE": "azureblob",
                "RCLONE_CONFIG_AZ_SAS_URL": f"http://127.0.0.1:{port}/devstoreaccount1?{self.sas_query}"}

    def seed(self, prefix, folder):
        run(["rclone", "copy", folder, f"az:config/{prefix}", "--transfers", "16"], self.rclone_env(self.port))

    def change(self, prefix, seq):
        path = os.path.join(self.tmp, "changed-az", "file7.yaml")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(f"changed {seq}\n")
        run(["rclone", "copyto", path, f"az:config/{prefix}/dir7/file7.yaml"], self.rclone_env(self.port))

    def configsync_source(self, prefix, port):
        path = os.path.join(self.tmp, f"connection-{port}")
        with open(path, "w") as f:
            f.write(self.connection(port))
        return f"type: azureblob\ncontainer: config\nprefix: {prefix}\nauth:\n  connectionStringFile: {path}\n"

    def peers(self, prefix, port):
        env = self.rclone_env(port)
        return {"rclone sync": lambda dest: (["rclone", "sync", f"az:config/{prefix}", dest, "--transfers", "16", "--checkers", "16", "--fast-list"], env)}

    def close(self):
        self.proc.terminate()


class Git:
    name = "Git (git daemon)"

    def __init__(self, tmp):
        self.tmp = tmp
        self.repos = os.path.join(tmp, "repos")
        os.makedirs(self.repos)
        self.port = free_port()
        self.log = open(os.path.join(tmp, "git-daemon.log"), "w+")
        self.proc = subprocess.Popen(["/usr/lib/git-core/git-daemon", "--verbose", "--reuseaddr", "--listen=127.0.0.1", f"--port={self.port}",
                                      f"--base-path={self.repos}", "--export-all", self.repos], stdout=subprocess.DEVNULL, stderr=self.log)
        wait_port(self.port, self.proc)

    def seed(self, prefix, folder):
        bare = os.path.join(self.repos, f"{prefix}.git")
        work = os.path.join(self.tmp, f"work-{prefix}")
        run(["git", "init", "-q", "--bare", "--initial-branch=main", bare], GIT_ENV)
        shutil.copytree(folder, work)
        run(["git", "init", "-q", "--initial-branch=main"], GIT_ENV, work)
        run(["git", "add", "-A"], GIT_ENV, work)
        run(["git", "commit", "-q", "-m", "initial"], GIT_ENV, work)
        run(["git", "push", "-q", bare, "main"], GIT_ENV, work)

    def change(self, prefix, seq):
        work = os.path.join(self.tmp, f"work-{prefix}")
        with open(os.path.join(work, "dir7", "file7.yaml"), "w") as f:
            f.write(f"changed {seq}\n")
        run(["git", "commit", "-q", "-am", f"change {seq}"], GIT_ENV, work)
        run(["git", "push", "-q", os.path.join(self.repos, f"{prefix}.git"), "main"], GIT_ENV, work)

    def url(self, prefix):
        return f"git://127.0.0.1:{self.port}/{prefix}.git"

    def configsync_source(self, prefix, port):
        return f"type: git\nurl: {self.url(prefix)}\nref: main\n"

    def peers(self, prefix, port):
        # What a script-based sidecar does: a shallow clone into a fresh folder, then fetch + checkout.
        def clone_or_fetch(dest):
            if os.path.isdir(os.path.join(dest, ".git")):
                return (["sh", "-c", f"cd '{dest}' && git fetch -q --depth 1 origin main && git checkout -q -f FETCH_HEAD"], GIT_ENV)
            return (["git", "clone", "-q", "--depth", "1", "--branch", "main", self.url(prefix), dest], GIT_ENV)
        return {"git clone / fetch + checkout": clone_or_fetch}

    def take(self):
        self.log.seek(0)
        lines = [l for l in self.log.read().splitlines() if "Request upload-pack" in l]
        self.log.seek(0)
        self.log.truncate()
        return f"{len(lines)} upload-pack connection(s)"

    def close(self):
        self.proc.terminate()


def configsync_config(source_yaml, root, listen=None, syncs=1, interval="1h", signal=None):
    lines = []
    if listen:
        lines += ["http:", f"  listen: {listen}"]
    lines.append("syncs:")
    for n in range(syncs):
        name = "default" if syncs == 1 else f"s{n}"
        lines += [f"  - name: {name}", f"    interval: {interval}", "    source:"]
        lines += ["      " + l for l in source_yaml.splitlines()]
        lines += ["    target:", f"      root: {root if syncs == 1 else os.path.join(root, name)}"]
        if signal:
            lines += ["    signal:", f"      url: {signal}"]
    return "\n".join(lines) + "\n"


DURABLE = ", then `sync -f` (durable, as ConfigSync)"


def tools_for(kind, prefix, port):
    """ConfigSync, the peers, and the first peer again followed by `sync -f` on its folder: what the peer
    costs when it too makes what it wrote durable (ConfigSync's syncfs before the swap). The ratio is to
    the fastest peer without it."""
    peers = kind.peers(prefix, port)
    first, make = next(iter(peers.items()))

    def durable(dest, make=make):
        cmd, env = make(dest)
        return (["sh", "-c", f"{shlex.join(cmd)} && sync -f {shlex.quote(dest)}"], env)
    return {"ConfigSync (`once`)": None, **peers, first + DURABLE: durable}


def command_for(kind, prefix, port, make, dest):
    """What syncs dest: ConfigSync's `once` (make is None) or a peer's command; a function returning
    (command, environment), called for each sync."""
    if make is not None:
        return lambda: make(dest)
    cfg = dest + ".yaml"
    with open(cfg, "w") as f:
        f.write(configsync_config(kind.configsync_source(prefix, port), dest))
    return lambda: ([CS, "once", "--no-signal", "--config", cfg], {})


def compare(kind, tmp, runs, rows):
    """Times ConfigSync and the peers on both trees; appends markdown rows. The tools take turns round
    by round, in an order that rotates each round, so the machine's drift hits them alike: in a
    round each tool syncs into a fresh folder and again with no change, then the source changes one
    file and each tool syncs once more."""
    for label, (count, size) in TREES.items():
        prefix = f"t{count}"
        tree = os.path.join(tmp, f"tree-{prefix}")
        if not os.path.isdir(tree):
            make_tree(tree, count, size)
        kind.seed(prefix, tree)
        port = getattr(kind, "port", None)
        tools = tools_for(kind, prefix, port)
        names = list(tools)
        samples = {tool: ([], [], [], [], []) for tool in names}
        for r in range(runs):
            commands = {tool: command_for(kind, prefix, port, tools[tool], os.path.join(tmp, f"dest-{prefix}-{n}-{r}"))
                        for n, tool in enumerate(names)}
            order = names[r % len(names):] + names[:r % len(names)]
            for tool in order:
                init, init_cpu, noch, noch_cpu, _ = samples[tool]
                for bucket, cpu in ((init, init_cpu), (noch, noch_cpu)):
                    wall, c = timed(*commands[tool]())
                    bucket.append(wall)
                    cpu.append(c)
            kind.change(prefix, r + 1)
            for tool in order:
                samples[tool][4].append(timed(*commands[tool]())[0])
        results = {tool: tuple(med(v) for v in values) for tool, values in samples.items()}
        counts = request_counts(kind, prefix, tmp)
        first, daemon_noch, daemon_chg = daemon_polls(kind, prefix, port, tmp, runs)
        best_peer = min(v[0] for k, v in results.items() if k != "ConfigSync (`once`)" and not k.endswith(DURABLE))
        for tool, (i, ic, n, nc, c) in results.items():
            ratio = f"{i / best_peer:.2f}" if tool == "ConfigSync (`once`)" else ""
            rows.append(f"| {kind.name} | {label} | {tool} | {i:.0f} ms | {ic:.0f} ms | {ratio} | {n:.0f} ms | {nc:.0f} ms | {counts[tool][1]} | {c:.0f} ms | {counts[tool][2]} |")
        rows.append(f"| {kind.name} | {label} | ConfigSync daemon: one poll inside the running process | {first:.0f} ms (its first sync) | | | {daemon_noch:.0f} ms | | as `once` | {daemon_chg:.0f} ms | as `once` |")
        print(f"{kind.name} {label}: done", file=sys.stderr)


def metric(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    return sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(name))


def daemon_polls(kind, prefix, port, tmp, runs, seq_base=2000, binary=None, env=None):
    """What each poll costs a running daemon (configsync_sync_duration_seconds, no process start):
    the first sync, then RUNS no-change and one-change polls triggered by POST /sync. binary and env:
    another build than CS, and variables added to this process's environment for it."""
    listen = free_port()
    cfg = os.path.join(tmp, f"daemon-{prefix}.yaml")
    with open(cfg, "w") as f:
        f.write(configsync_config(kind.configsync_source(prefix, port), os.path.join(tmp, f"daemon-{prefix}"), f"127.0.0.1:{listen}"))
    os.sync()  # as timed() does: the first sync's syncfs pays only for its own files
    proc = subprocess.Popen([binary or CS, "run", "--config", cfg], env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(listen, proc, 120)
        first = metric(listen, "configsync_sync_duration_seconds_sum") * 1000
        noch, chg = [], []
        for r in range(runs):
            for bucket in (noch, chg):
                if bucket is chg:
                    kind.change(prefix, seq_base + r)
                os.sync()
                total, count = metric(listen, "configsync_sync_duration_seconds_sum"), metric(listen, "configsync_sync_duration_seconds_count")
                urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{listen}/sync/default", method="POST")).read()
                while metric(listen, "configsync_sync_duration_seconds_count") == count:
                    time.sleep(0.01)
                bucket.append((metric(listen, "configsync_sync_duration_seconds_sum") - total) * 1000)
        return first, med(noch), med(chg)
    finally:
        proc.terminate()
        proc.wait()


def request_counts(kind, prefix, tmp):
    """One pass per tool through the counting proxy (git: git daemon's own log): initial, no change, one change."""
    counts = {}
    proxy = CountingProxy(kind.port) if not isinstance(kind, Git) else None
    take = proxy.take if proxy else kind.take
    port = proxy.port if proxy else None
    tools = tools_for(kind, prefix, port)
    for n, (tool, make) in enumerate(tools.items()):
        command = command_for(kind, prefix, port, make, os.path.join(tmp, f"count-{prefix}-{n}"))
        take()
        found = []
        for step in ("initial", "no change", "change"):
            if step == "change":
                kind.change(prefix, 1000 + n)
            cmd, env = command()
            timed(cmd, env)
            time.sleep(0.3)
            found.append(take())
        counts[tool] = found
    if proxy:
        proxy.close()
    return counts


def daemon_figures(kind, tmp, runs, out):
    """Idle RSS/CPU with 1 and 10 syncs, and change-to-signal latency, for one source kind."""
    prefix = "t2000"
    # Both daemons at once, measured after a minute: the first minute holds start-up and tiered
    # compilation promoting hot methods, not what an idle sidecar costs.
    daemons = []
    for syncs in (1, 10):
        port = free_port()
        root = os.path.join(tmp, f"idle-{syncs}")
        cfg = os.path.join(tmp, f"idle-{syncs}.yaml")
        with open(cfg, "w") as f:
            f.write(configsync_config(kind.configsync_source(prefix, getattr(kind, "port", None)), root, f"127.0.0.1:{port}", syncs, "10s"))
        proc = subprocess.Popen([CS, "run", "--config", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_ready(port, proc, 120)
        daemons.append((syncs, proc))
    time.sleep(60)
    cpu0 = {syncs: cpu_ticks(proc.pid) for syncs, proc in daemons}
    time.sleep(60)
    for syncs, proc in daemons:
        cpu = (cpu_ticks(proc.pid) - cpu0[syncs]) / os.sysconf("SC_CLK_TCK") * 1000
        rss = rss_mib(proc.pid)
        proc.terminate()
        proc.wait()
        out.append(f"| {kind.name} | {syncs} | 10 s | {rss} MiB | {cpu:.0f} ms |")


def latency(kind, tmp, runs, out):
    prefix = "t2000"
    app = SignalApp()
    for mode in ("1 s interval", "trigger (`POST /sync`)"):
        port = free_port()
        cfg = os.path.join(tmp, f"lat-{port}.yaml")
        interval = "1s" if mode.startswith("1 s") else "1h"
        with open(cfg, "w") as f:
            f.write(configsync_config(kind.configsync_source(prefix, getattr(kind, "port", None)), os.path.join(tmp, f"lat-{port}"),
                                      f"127.0.0.1:{port}", 1, interval, app.url))
        first = app.count + 1
        proc = subprocess.Popen([CS, "run", "--config", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_ready(port, proc, 120)
        app.wait_count(first, 30)
        values = []
        for r in range(runs):
            seen = app.count
            kind.change(prefix, 5000 + r + (100 if interval == "1h" else 0))
            changed = time.monotonic()
            if interval == "1h":
                urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/sync/default", method="POST")).read()
            arrived = app.wait_count(seen + 1, 30)
            values.append((arrived - changed) * 1000)
        proc.terminate()
        proc.wait()
        out.append(f"| {kind.name} | {mode} | {med(values):.0f} ms | {min(values):.0f}–{max(values):.0f} ms |")
    app.close()


class SignalApp:
    """The app being notified: records when each signal arrives."""

    def __init__(self):
        self.times = []
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                app.times.append(time.monotonic())
                self.send_response(204)
                self.end_headers()

        port = free_port()
        self.url = f"http://127.0.0.1:{port}/reload"
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def count(self):
        return len(self.times)

    def wait_count(self, n, timeout):
        deadline = time.monotonic() + timeout
        while len(self.times) < n:
            if time.monotonic() > deadline:
                raise SystemExit("no signal arrived")
            time.sleep(0.002)
        return self.times[n - 1]

    def close(self):
        self.server.shutdown()


def wait_ready(port, proc, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("configsync exited")
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).status == 200:
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise SystemExit("configsync never became ready")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) // 1024 for l in f if l.startswith("VmRSS"))


KINDS = {"git": Git, "s3": S3, "azure": Azure}


def bench_args():
    """The command line every source benchmark takes: --runs, --out, --only (a comma list of KINDS)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", default=",".join(KINDS))
    return parser.parse_args()


def each_kind(only, tmp):
    """Starts each named source's server in turn, in a folder of its own under tmp; yields
    (kind, folder) and stops the server after."""
    for key in only.split(","):
        folder = os.path.join(tmp, key)
        os.makedirs(folder)
        kind = KINDS[key](folder)
        try:
            yield kind, folder
        finally:
            kind.close()


def main():
    args = bench_args()
    tmp = tempfile.mkdtemp(prefix="configsync-peers-")
    rows, idle, lat = [], [], []
    try:
        for kind, folder in each_kind(args.only, tmp):
            compare(kind, folder, args.runs, rows)
            daemon_figures(kind, folder, args.runs, idle)
            latency(kind, folder, args.runs, lat)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(args.out, "w") as f:
        f.write("| source | tree | tool | initial: wall | initial: CPU | ratio to the fastest peer | no change: wall | no change: CPU | no change: requests | one change: wall | one change: requests |\n")
        f.write("|---|---|---|---|---|---|---|---|---|---|---|\n")
        f.write("\n".join(rows) + "\n\n")
        f.write("| source | syncs | interval | RSS after a minute | CPU per minute, in the second minute |\n|---|---|---|---|---|\n")
        f.write("\n".join(idle) + "\n\n")
        f.write("| source | how the change is noticed | change to signal: median | range |\n|---|---|---|---|\n")
        f.write("\n".join(lat) + "\n")


if __name__ == "__main__":
    main()
