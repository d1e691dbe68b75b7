#!/usr/bin/env python3
"""Edits made while a backlog drains: commit → visible in the index.

Each round and mode: with the sync stopped, a backlog of BACKLOG changes
(new users, then 40 updates each of the first tenth of them: a bulk load
and repeated edits that coalesce); then `hacksync serve` starts and, while
over 1,000 of the backlog's changes are pending, a user's bio is edited
every 200 ms (a different user each time) and the index is polled (_mget
of the edits not yet seen, every 20 ms) until it shows each edit: the same
load on every mode. After one uncounted round of each mode, modes run
interleaved, the order swapped each round:
  fresh     the default: a fresh lane beside the backlog (SyncPipeline)
  no-fresh  --no-fresh-lane: strictly oldest first
Prints each mode's edit latencies (n, median, p90, p99, max) and how long
the backlog took to drain. Loopback only; every wait is bounded.

Usage: headofline.py HACKSYNC_BINARY ROUNDS BACKLOG
(DATABASE_URL and ELASTICSEARCH_URL from the environment)
"""
import json
import os
import subprocess
import threading
import sys
import time
import urllib.request

from measure import free_port, percentile
from psql import query
from cpu import cpu, postgres_cpu, search_pid

BINARY, ROUNDS, BACKLOG = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
DB, ES = os.environ["DATABASE_URL"], os.environ["ELASTICSEARCH_URL"]
MODES = {"fresh": [], "no-fresh": ["--no-fresh-lane"]}
# HOL_MODES="fresh": only those modes (for diagnosis with HOL_LOG).
MODES = {m: MODES[m] for m in os.environ.get("HOL_MODES", " ".join(MODES)).split()}


def sql(statement):
    return query(DB, statement)


def pending():
    return int(sql("SELECT count(*) FROM sync.changes WHERE processed_at IS NULL"))


def indexed_bios(user_ids):
    body = json.dumps({"ids": [str(i) for i in user_ids]}).encode()
    request = urllib.request.Request(f"{ES}/users/_mget", data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        docs = json.load(response).get("docs", [])
    return {int(d["_id"]): d.get("_source", {}).get("bio") for d in docs if d.get("found")}


def make_backlog(tag):
    inserts = BACKLOG // 5
    updated = inserts // 10
    first = int(sql("SELECT coalesce(max(id), 0) + 1 FROM users"))
    sql(f"INSERT INTO users (id, username, email) SELECT {first - 1} + i, 'hol{tag}_' || i, 'hol{tag}_' || i || '@x' "
        f"FROM generate_series(1, {inserts}) i")
    for n in range(40):
        sql(f"UPDATE users SET bio = 'round {n}' WHERE id BETWEEN {first} AND {first + updated - 1}")
    return first


def warm_up(port):
    """Creates the indexes and syncs the demo data, so rounds start from an idle sync."""
    serve = subprocess.Popen([BINARY, "serve", "--listen", f"127.0.0.1:{port}", "--log-level", "error"])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.5)
            jobs = int(sql("SELECT count(*) FROM sync.index_jobs WHERE finished_at IS NULL"))
            if pending() == 0 and jobs == 0 and indexed_bios([1]):
                return
        raise SystemExit("warm-up: the demo data never finished syncing")
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def run(mode, round_no, port):
    make_backlog(f"{round_no}{mode}")
    backlog = pending()
    # HOL_LOG=file: the service's debug log (every batch with its timings), for diagnosis.
    log = open(os.environ["HOL_LOG"], "a") if os.environ.get("HOL_LOG") else None
    serve = subprocess.Popen([BINARY, "serve", "--listen", f"127.0.0.1:{port}", "--log-level", "debug" if log else "warning",
                              "--retention-rows", "100000000", *MODES[mode],
                              *os.environ.get("HOL_SERVE_ARGS", "").split()], stderr=log)
    started = time.monotonic()
    before = (cpu(serve.pid), postgres_cpu(), cpu(search_pid()))
    latencies = []
    outstanding = {}  # user id -> (marker, commit time)
    lock = threading.Lock()
    done = threading.Event()

    def poll():
        # One _mget for every edit not yet seen, every 20 ms: the same load whatever the mode.
        while not done.is_set() or outstanding:
            with lock:
                ids = list(outstanding)
            if ids:
                for user, bio in indexed_bios(ids).items():
                    with lock:
                        marker, committed = outstanding.get(user, (None, None))
                        if bio == marker:
                            latencies.append(time.monotonic() - committed)
                            del outstanding[user]
                            if log:
                                print(f"{time.strftime('%H:%M:%S')} EDIT user={user} '{marker}' committed "
                                      f"at +{committed - started:.3f} s, visible after {latencies[-1] * 1000:.0f} ms", file=log, flush=True)
            if time.monotonic() - started > 300:
                raise SystemExit(f"{mode}: edits never reached the index: {outstanding}")
            time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        # Edits go to users that are not part of the backlog, one at a time each.
        targets = [int(x) for x in sql("SELECT id FROM users WHERE username NOT LIKE 'hol%' ORDER BY id LIMIT 200").split()]
        edits = 0
        while time.monotonic() - started < 120 and pending() >= 1000:
            user = targets[edits % len(targets)]
            marker = f"edit {mode} {round_no} {edits}"
            sql(f"UPDATE users SET bio = '{marker}' WHERE id = {user}")
            with lock:
                outstanding[user] = (marker, time.monotonic())
            edits += 1
            time.sleep(0.2)
        while pending() > 0 and time.monotonic() - started < 300:
            time.sleep(0.2)
        drained = time.monotonic() - started
        used = (cpu(serve.pid) - before[0], postgres_cpu() - before[1], cpu(search_pid()) - before[2])
    finally:
        done.set()
        poller.join()
        serve.terminate()
        serve.wait(timeout=30)
    return backlog, latencies, drained, used


def main():
    port = free_port()
    warm_up(port)
    # The search server's first drain after the warm-up costs it ~2.5x the CPU
    # of the later ones, whatever the mode: one round of each mode first, not counted.
    for mode in MODES:
        backlog, latencies, drained, used = run(mode, -1, port)
        print(f"warm-up {mode:8}: drained in {drained:.1f} s, search server {used[2]:.1f} CPU s (not counted)", flush=True)
    results = {mode: [] for mode in MODES}
    drains = {mode: [] for mode in MODES}
    for round_no in range(ROUNDS):
        order = list(MODES) if round_no % 2 == 0 else list(reversed(MODES))
        for mode in order:
            backlog, latencies, drained, used = run(mode, round_no, port)
            results[mode] += latencies
            drains[mode].append(drained)
            print(f"round {round_no + 1} {mode:8}: backlog {backlog} changes drained in {drained:.1f} s; "
                  f"{len(latencies)} edits meanwhile, median {percentile(latencies, .5) * 1000:.0f} ms, "
                  f"max {max(latencies) * 1000:.0f} ms; CPU s: hacksync {used[0]:.1f}, postgres {used[1]:.1f}, "
                  f"search server {used[2]:.1f}" if latencies else f"round {round_no + 1} {mode}: no edit", flush=True)
    print("mode      edits  median    p90     p99     max   (commit → visible in the index while the backlog drains)")
    for mode, values in results.items():
        if not values:
            continue
        ms = lambda p: f"{percentile(values, p) * 1000:5.0f} ms"
        print(f"{mode:9} {len(values):5}  {ms(.5)}  {ms(.9)}  {ms(.99)}  {max(values) * 1000:5.0f} ms"
              f"   drain median {sorted(drains[mode])[len(drains[mode]) // 2]:.1f} s")


main()
