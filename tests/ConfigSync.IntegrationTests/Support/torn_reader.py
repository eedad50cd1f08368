#!/usr/bin/env python3
"""A reader process for the torn-read test: walks and reads the whole live tree in a loop, the way
an app would (resolving ROOT/current once per walk), until the file STOP appears. Each file starts
with "revision N". Prints one JSON line: walks, revisions seen, and every anomaly (two revisions in
one walk, a missing file, a partial file)."""
import json, os, sys

root, files, size, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
walks, revisions, anomalies, absent = 0, set(), [], 0
while not os.path.exists(stop):
    live = os.path.join(root, "current")
    try:
        tree = os.path.realpath(live, strict=True)
    except OSError:
        absent += 1
        continue
    seen, count = set(), 0
    for folder, _, names in os.walk(tree):
        for name in names:
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError as e:
                anomalies.append(f"cannot read {path}: {e}")
                continue
            count += 1
            if len(data) != size:
                anomalies.append(f"{path}: {len(data)} bytes, not {size}")
            seen.add(data.split(b"\n", 1)[0].decode())
    walks += 1
    revisions |= seen
    if count != files:
        anomalies.append(f"walk {walks}: {count} files, not {files}")
    if len(seen) > 1:
        anomalies.append(f"walk {walks}: {sorted(seen)} in one walk")
    if len(anomalies) > 20:
        break
print(json.dumps({"walks": walks, "revisions": len(revisions), "absent": absent, "anomalies": anomalies}))
