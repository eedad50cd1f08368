#!/usr/bin/env python3
"""What one pod's polling costs the origin, per mode, scaled to a fleet: requests and bytes per day.

One published daemon (NativeAOT) reads a tree of FILES files of about 1 KiB through a TCP relay that counts
the bytes both ways, with interval 1h and POST /sync/app as the poll (so only the polls measured happen):
S3 (s3rver) listing the prefix, S3 reading the index `configsync publish` wrote, and git over git://
(`git daemon`). Requests per poll come from the daemon's own configsync_source_requests_total (checked exact
against the store in the tests); bytes per poll from the relay. Then a change: the time `configsync publish`
takes for one changed file, and the reader's sync of it; and a fleet of --fleet index readers polling every
--fleet-interval seconds, a change published, and the time until every one of them has it live. Webhook push
polls nothing: one fetch per change.

    python3 bench/fleet.py [--files 100] [--polls 20] [--fleet 20] [--fleet-interval 10] [--out artifacts/bench/fleet.md]
"""
import argparse, json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import free_port, wait_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "artifacts", "configsync", "configsync")
PODS = (1_000, 10_000)
POLLS_PER_DAY = 24 * 3600 // 30
# S3 Standard, US East (N. Virginia), from aws.amazon.com/s3/pricing (list prices; unchanged since 2017, read 2026-12-01).
PRICE_PER_1000 = {"list": 0.005, "put": 0.005, "get": 0.0004, "head": 0.0004}


class Relay:
    """A TCP relay counting the bytes each way (requests, answers)."""

    def __init__(self, upstream):
        self.upstream, self.port, self.sent, self.received, self.lock = upstream, free_port(), 0, 0, threading.Lock()
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.server.accept()
            origin = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self.pump, args=(client, origin, True), daemon=True).start()
            threading.Thread(target=self.pump, args=(origin, client, False), daemon=True).start()

    def pump(self, source, destination, outbound):
        try:
            while data := source.recv(65536):
                with self.lock:
                    if outbound:
                        self.sent += len(data)
                    else:
                        self.received += len(data)
                destination.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, destination):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def total(self):
        with self.lock:
            return self.sent + self.received


def http(port, path, method="GET"):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def s3rver_put(port, key, body):
    """A PUT to s3rver, which checks the key id and the date but not the signature (TEST-SERVERS.md): seeding only."""
    date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    request = urllib.request.Request(f"http://127.0.0.1:{port}/config/{key}", data=body, method="PUT", headers={
        "Authorization": f"AWS4-HMAC-SHA256 Credential=S3RVER/{date[:8]}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
        "x-amz-date": date, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    urllib.request.urlopen(request, timeout=10).read()


def requests_so_far(port):
    counts = {}
    for line in http(port, "/metrics").splitlines():
        if line.startswith("configsync_source_requests_total{"):
            operation = line.split('operation="')[1].split('"')[0]
            counts[operation] = counts.get(operation, 0) + float(line.rsplit(" ", 1)[1])
    return counts


def status(port):
    return json.loads(http(port, "/status/app"))["status"]


def poll(port):
    before = status(port)["lastAttempt"]
    http(port, "/sync/app", "POST")
    while True:
        now = status(port)
        if now["lastAttempt"] != before and not now["syncing"]:
            return now
        time.sleep(0.02)


def reader(work, name, source_yaml, interval="1h"):
    port = free_port()
    config = os.path.join(work, f"{name}.yaml")
    with open(config, "w") as f:
        f.write(f'http:\n  listen: "127.0.0.1:{port}"\nsyncs:\n  - name: app\n    interval: {interval}\n    source:\n'
                + "".join("      " + line + "\n" for line in source_yaml.splitlines())
                + f"    target:\n      root: {os.path.join(work, name + '-volume')}\n")
    process = subprocess.Popen([BINARY, "run", "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            return process, port
        except Exception:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{name}: not ready")


def measure(relay, port, polls):
    requests_before, bytes_before = requests_so_far(port), relay.total()
    for _ in range(polls):
        poll(port)
    after = requests_so_far(port)
    return {k: (after.get(k, 0) - requests_before.get(k, 0)) / polls for k in after}, (relay.total() - bytes_before) / polls


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--fleet", type=int, default=20)
    parser.add_argument("--fleet-interval", type=int, default=10)
    parser.add_argument("--out")
    args = parser.parse_args()
    if not os.path.exists(BINARY):
        subprocess.run(["dotnet", "publish", os.path.join(ROOT, "src", "ConfigSync"), "-c", "Release", "-r", "linux-x64", "-o", os.path.dirname(BINARY), "--nologo", "-v", "quiet"], check=True)
    work = tempfile.mkdtemp(prefix="configsync-fleet-")
    processes = []
    try:
        tree = os.path.join(work, "tree")
        for i in range(args.files):
            os.makedirs(os.path.join(tree, f"dir{i % 10}"), exist_ok=True)
            with open(os.path.join(tree, f"dir{i % 10}", f"file{i}.yaml"), "w") as f:
                f.write(f"key{i}: " + "x" * 1000 + "\n")
        for name, value in (("key-id", "S3RVER"), ("secret", "S3RVER")):
            with open(os.path.join(work, name), "w") as f:
                f.write(value)

        s3_port = free_port()
        env = {**os.environ, "NODE_OPTIONS": "--openssl-legacy-provider"}
        processes.append(subprocess.Popen(["node", os.path.join(ROOT, "tests", "servers", "node_modules", "s3rver", "bin", "s3rver.js"), "-d", os.path.join(work, "s3"),
                                           "-a", "127.0.0.1", "-p", str(s3_port), "--silent", "--configure-bucket", "config"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(s3_port)
        time.sleep(1)
        s3_relay = Relay(s3_port)
        store = lambda port, prefix="fleet": (f"type: s3\nbucket: config\nprefix: {prefix}\nregion: us-east-1\nendpoint: http://127.0.0.1:{port}\n"
                                              f"auth:\n  accessKeyIdFile: {work}/key-id\n  secretAccessKeyFile: {work}/secret\n")
        # The listing reader's prefix holds the tree at its paths, as a bucket written by hand or by a sync job does.
        for folder, _, names in os.walk(tree):
            for name in names:
                with open(os.path.join(folder, name), "rb") as f:
                    s3rver_put(s3_port, "list/" + os.path.relpath(os.path.join(folder, name), tree), f.read())
        publish_config = os.path.join(work, "publish.yaml")
        with open(publish_config, "w") as f:
            f.write("syncs:\n  - name: app\n    source:\n      type: dir\n      path: " + tree + "\n    publish:\n"
                    + "".join("      " + line + "\n" for line in store(s3_port).splitlines()) + "      gracePeriod: 0s\n")
        started = time.monotonic()
        subprocess.run([BINARY, "publish", "--config", publish_config], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        first_publish = time.monotonic() - started

        # git: the same tree in a bare repository served by git daemon.
        repos = os.path.join(work, "repos")
        os.makedirs(repos)
        subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", os.path.join(repos, "config.git")], check=True)
        clone = os.path.join(work, "clone")
        subprocess.run(["git", "clone", "-q", os.path.join(repos, "config.git"), clone], check=True, stderr=subprocess.DEVNULL)
        shutil.copytree(tree, clone, dirs_exist_ok=True)
        for command in (["checkout", "-q", "-b", "main"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "tree"], ["push", "-q", "origin", "main"]):
            subprocess.run(["git", *command], cwd=clone, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        git_port = free_port()
        processes.append(subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={repos}", f"--port={git_port}", "--listen=127.0.0.1", repos],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(git_port)
        git_relay = Relay(git_port)

        rows = []
        for name, relay, source in (
            ("S3, listing the prefix", s3_relay, store(s3_relay.port, "list")),
            ("S3, index (`source.index`)", s3_relay, store(s3_relay.port) + "index: .configsync-index.json\n"),
            ("git fetch (git://)", git_relay, f"type: git\nurl: git://127.0.0.1:{git_relay.port}/config.git\nref: main\n"),
        ):
            process, port = reader(work, name.split(",")[0].split(" ")[0].lower() + str(len(rows)), source)
            processes.append(process)
            requests, size = measure(relay, port, args.polls)
            rows.append((name, requests, size, port))

        # A change through publish + index polling: one file changed, published, then the index reader's poll.
        with open(os.path.join(tree, "dir0", "file0.yaml"), "a") as f:
            f.write("changed: true\n")
        started = time.monotonic()
        subprocess.run([BINARY, "publish", "--config", publish_config], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        change_publish = time.monotonic() - started
        index_port = rows[1][3]
        started = time.monotonic()
        after = poll(index_port)
        change_sync = time.monotonic() - started
        assert after["consecutiveFailures"] == 0, after

        # A fleet: FLEET index readers polling every FLEET_INTERVAL; a change published; when is every one of them live?
        fleet = []
        for i in range(args.fleet):
            process, port = reader(work, f"fleet{i}", store(s3_port) + "index: .configsync-index.json\n", interval=f"{args.fleet_interval}s")
            processes.append(process)
            fleet.append(port)
        time.sleep(args.fleet_interval * 2)  # past the first sync's random phase
        with open(os.path.join(tree, "dir1", "file1.yaml"), "a") as f:
            f.write("changed: again\n")
        started = time.monotonic()
        subprocess.run([BINARY, "publish", "--config", publish_config], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        published = time.monotonic() - started
        revision = status(fleet[0])["revision"]
        live_after, waiting = {}, set(fleet)
        while waiting and time.monotonic() - started < args.fleet_interval * 4 + 30:
            for port in list(waiting):
                if (now := status(port))["revision"] != revision and now["consecutiveFailures"] == 0 and not now["syncing"]:
                    live_after[port] = time.monotonic() - started
                    waiting.discard(port)
            time.sleep(0.05)
        assert not waiting, f"{len(waiting)} readers never took the change"
        fleet_times = sorted(live_after.values())

        lines = [f"{args.files} files of about 1 KiB, {args.polls} unchanged polls each; requests per poll from the daemon's metric, bytes per poll (both ways, TCP payload) from the relay.", "",
                 "| mode | requests per unchanged poll | bytes per poll | " + " | ".join(f"{p:,} pods at 30 s: requests/day, GB/day, USD/day" for p in PODS) + " |",
                 "|---|---|---|" + "---|" * len(PODS)]
        for name, requests, size, _ in rows:
            per_poll = ", ".join(f"{v:g} {k}" for k, v in sorted(requests.items()) if v) or "0"
            cells = []
            for pods in PODS:
                count = sum(requests.values()) * pods * POLLS_PER_DAY
                dollars = sum(v * PRICE_PER_1000.get(k, 0) / 1000 for k, v in requests.items()) * pods * POLLS_PER_DAY if name.startswith("S3") else None
                cells.append(f"{count:,.0f}, {size * pods * POLLS_PER_DAY / 1e9:.2f}, {'n/a (git host)' if dollars is None else f'{dollars:,.2f}'}")
            lines.append(f"| {name} | {per_poll} | {size:,.0f} | " + " | ".join(cells) + " |")
        lines.append(f"| webhook push (no polling) | 0 | 0 | " + " | ".join("0 unchanged; one fetch per pod per change" for _ in PODS) + " |")
        lines += ["", f"`configsync publish` of the {args.files} files into an empty prefix: {first_publish:.2f} s; of one changed file: {change_publish:.2f} s "
                  f"(the process's start included). The index reader's sync of that change: {change_sync:.2f} s. From a commit to the whole fleet live: "
                  f"the publish, plus at most one interval (30 s; half of it on average, the polls being spread), plus the sync: about "
                  f"{change_publish + 30 + change_sync:.0f} s at worst.",
                  "", f"Measured with a fleet of {args.fleet} index readers polling every {args.fleet_interval} s (started together, phases spread): a change published "
                  f"({published:.2f} s for `configsync publish`) was live in every one of them {fleet_times[-1]:.1f} s after the publish started "
                  f"(median {statistics.median(fleet_times):.1f} s, first {fleet_times[0]:.1f} s): within one interval plus the publish, as expected."]
        text = "\n".join(lines) + "\n"
        print(text)
        if args.out:
            os.makedirs(os.path.dirname(args.out), exist_ok=True)
            with open(args.out, "w") as f:
                f.write(text)
    finally:
        for process in processes:
            process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
