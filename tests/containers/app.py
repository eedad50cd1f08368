#!/usr/bin/env python3
"""Stand-in for the app containers of the examples and the chart (their images cannot be pulled on
the test machines): it does what those apps do with ConfigSync's files, and reports what it saw.

Environment:
  APP_FILES      folder the app reads (the live link or a folder below it), required at start
  APP_PORT       port of the app's HTTP endpoint (reload and /state); none for a Job
  APP_RELOAD     path of the reload endpoint (POST), default /-/reload
  APP_PRIVATE    ConfigSync's private state volume, mounted into the app by mistake: every folder in
                 it must be unreadable to the app (a missing path is an error, not "unreadable")
  APP_EXIT       "read": read the files once, print the state as one JSON line, exit 0 (a Job)

GET /state answers the same JSON: whether the files were there at start, what they hold, the
reloads received (with what the files held then), the uid and groups, and whether APP_PRIVATE
could be read.
"""
import hashlib, http.server, json, os, sys, threading

files = os.environ["APP_FILES"]
lock = threading.Lock()


def read_tree():
    tree = {}
    for folder, _, names in os.walk(files, followlinks=True):
        for name in names:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, files)
            if rel.startswith(".configsync") or "/.configsync" in rel:
                continue
            try:
                with open(path, "rb") as f:
                    tree[rel] = f.read().decode("utf-8", "replace")
            except OSError as e:
                tree[rel] = "<unreadable: %s>" % e.strerror
    return tree


def private_state():
    path = os.environ.get("APP_PRIVATE")
    if not path:
        return None
    folders = [e for e in os.scandir(path) if e.is_dir(follow_symlinks=False)]
    readable = []
    for folder in folders:
        try:
            os.listdir(folder.path)
            readable.append(folder.name)
        except PermissionError:
            pass
    return {"folders": len(folders), "readable": readable}


state = {
    "uid": os.getuid(),
    "gid": os.getgid(),
    "groups": sorted(os.getgroups()),
    "filesAtStart": os.path.isdir(files) and bool(read_tree()),
    "files": read_tree() if os.path.isdir(files) else {},
    "private": private_state(),
    "reloads": [],
}

if not state["filesAtStart"]:
    print(json.dumps({"error": "started before the config was there", **state}), flush=True)
    sys.exit(3)

if os.environ.get("APP_EXIT") == "read":
    print(json.dumps(state), flush=True)
    sys.exit(0)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path.split("?")[0] != os.environ.get("APP_RELOAD", "/-/reload"):
            self.send_response(404); self.end_headers(); return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        with lock:
            state["files"] = read_tree()
            state["reloads"].append({"body": body, "files": state["files"], "from": self.client_address[0]})
        self.send_response(200); self.end_headers(); self.wfile.write(b"reloaded\n")

    def do_GET(self):
        if self.path != "/state":
            self.send_response(404); self.end_headers(); return
        with lock:
            state["files"] = read_tree()
            state["private"] = private_state()
            body = json.dumps(state).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


print(json.dumps({"started": True, "files": sorted(state["files"])}), flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["APP_PORT"])), Handler).serve_forever()
