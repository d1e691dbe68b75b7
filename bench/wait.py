#!/usr/bin/env python3
"""Read-your-writes: what /api/wait adds to the plain commit → index time.

Each round, with `hacksync serve` running: a new user is written (one
transaction, its xid read inside it), then from the moment the commit
returns, in parallel: a realtime GET of the document by id every 5 ms (the
plain commit → indexed time: the index has it, not yet searchable) and
GET /api/wait?xid=N (indexed *and* searchable: refreshed). Writes are 200 ms
apart. Prints p50/p90/p99/max of both and of their difference, and checks
that every write waited for is found by an immediate _search.

Usage: wait.py HACKSYNC_BINARY WRITES   (DATABASE_URL, ELASTICSEARCH_URL from the environment)
"""
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from measure import free_port, percentile
from psql import query

BINARY, WRITES = sys.argv[1], int(sys.argv[2])
DB, ES = os.environ["DATABASE_URL"], os.environ["ELASTICSEARCH_URL"]


def get(url, timeout=40):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def main():
    port = free_port()
    serve = subprocess.Popen([BINARY, "serve", "--listen", f"127.0.0.1:{port}", "--log-level", "warning"])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get(base + "/readyz", timeout=2)[0] == 200 and query(DB, "SELECT count(*) FROM sync.changes WHERE processed_at IS NULL") == "0":
                    break
            except Exception:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("the service never became ready")
        first = int(query(DB, "SELECT coalesce(max(id), 0) + 1 FROM users"))
        indexed, waited, misses = [], [], 0
        for n in range(WRITES):
            user = first + n
            row = query(DB, f"WITH u AS (INSERT INTO users (id, username, email) VALUES ({user}, 'wait{user}', 'wait{user}@x') RETURNING id) "
                            "SELECT pg_current_xact_id() FROM u")
            committed = time.monotonic()
            seen = {}

            def poll():
                while time.monotonic() - committed < 30:
                    status, body = get(f"{ES}/users/_doc/{user}")
                    if status == 200 and body.get("found"):
                        seen["at"] = time.monotonic()
                        return
                    time.sleep(0.005)

            poller = threading.Thread(target=poll)
            poller.start()
            status, body = get(f"{base}/api/wait?xid={row}&timeout=10s")
            answered = time.monotonic()
            poller.join()
            if status != 200 or "at" not in seen:
                raise SystemExit(f"write {n}: /api/wait answered {status} {body}, indexed: {'at' in seen}")
            hits = json.loads(urllib.request.urlopen(urllib.request.Request(
                f"{ES}/users/_search", data=json.dumps({"query": {"match": {"username": f"wait{user}"}}}).encode(),
                headers={"Content-Type": "application/json"}, method="POST"), timeout=10).read())["hits"]["total"]["value"]
            misses += hits != 1
            indexed.append(seen["at"] - committed)
            waited.append(answered - committed)
            time.sleep(0.2)
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    added = [w - i for w, i in zip(waited, indexed)]
    print(f"{WRITES} writes, one at a time; {misses} not found by a _search right after /api/wait answered")
    print("measure                              p50      p90      p99      max")
    for name, values in (("commit → indexed (realtime GET)", indexed), ("commit → /api/wait 200 (searchable)", waited),
                         ("added by /api/wait", added)):
        ms = lambda p: f"{percentile(values, p) * 1000:6.0f} ms"
        print(f"{name:35}  {ms(.5)}  {ms(.9)}  {ms(.99)}  {max(values) * 1000:6.0f} ms")


main()
