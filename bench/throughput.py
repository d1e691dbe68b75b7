#!/usr/bin/env python3
"""Sustained throughput: mixed platform writes at rising rates, and the
commit → index lag the sync keeps up with.

For each offered rate (row changes/s) and each search server (SINKS, in
turn, the order swapped every step), `hacksync serve` starts fresh, pgbench
drives the mix in bench/throughput/*.sql (project edits, members joining
and leaving, new and withdrawn projects, user renames that cascade) for
STEP seconds, and the sync is given DRAIN seconds to catch up. From the
change log itself (capture time → settle time, which follows the index's
acknowledgement), over the step's changes after a warm-up:
    changes/s   row changes captured per second (what the platform did)
    docs/s      documents the sync wrote per second of the step
    p50/p99     capture → indexed lag; "—" when changes were left unsynced
    left        changes still pending DRAIN s after the step
and the CPU seconds each process spent (hacksync, postgres, the search
server, pgbench), which says what the two cores were doing. A rate is
sustained when nothing was left and p99 < 1 s; a search server stops at
its first unsustained rate. With PROFILE=1, the highest sustained step of
the null server is profiled system-wide with perf.

Usage: throughput.py HACKSYNC PGBENCH "sink=url ..." "rate ..." STEP DRAIN
(DATABASE_URL, HACKSYNC_PG_DATA from the environment)
"""
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request

from measure import free_port
from psql import query
from cpu import cpu, postgres_cpu

HACKSYNC, PGBENCH = sys.argv[1], sys.argv[2]
SINKS = dict(item.split("=", 1) for item in sys.argv[3].split())
RATES = [int(r) for r in sys.argv[4].split()]
STEP, DRAIN = int(sys.argv[5]), int(sys.argv[6])
WARM_UP = 3
DB = os.environ["DATABASE_URL"]
HERE = os.path.dirname(os.path.abspath(__file__))
# Weights of the mix; every script changes one row (a delete of a project
# without members, or of a member, too), so transactions/s ≈ row changes/s.
MIX = {"update": 4, "member_add": 2, "member_remove": 2, "insert": 2, "delete": 1, "rename": 1}


def sql(statement):
    return query(DB, statement)


def status(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=10) as response:
        return json.load(response)


def start_serve(url, port):
    env = dict(os.environ, ELASTICSEARCH_URL=url)
    serve = subprocess.Popen([HACKSYNC, "serve", "--listen", f"127.0.0.1:{port}", "--log-level", "warning",
                              "--retention-rows", "1000000000", *os.environ.get("SERVE_ARGS", "").split()], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if status(port).get("role") == "leader":
                return serve
        except OSError:
            pass
        time.sleep(0.2)
    serve.kill()
    raise SystemExit("hacksync serve never became the leader")


def sink_pid(name):
    pid = os.environ.get(f"SINK_PID_{name.upper()}")
    return int(pid) if pid else None


def step(sink, url, rate, sizes, profile=False):
    # sync.documents is the sync's record of what it wrote, and the service
    # rebuilds an index holding under half of it (IndexGuard): with two
    # search servers behind one database, each step starts from an empty
    # record, so that neither looks like it lost what went to the other.
    sql("TRUNCATE sync.documents")
    port = free_port()
    serve = start_serve(url, port)
    try:
        first = int(sql("SELECT coalesce(max(seq), 0) FROM sync.changes"))
        before = {"hacksync": cpu(serve.pid), "postgres": postgres_cpu(),
                  "search": cpu(sink_pid(sink)) if sink_pid(sink) else 0.0,
                  "pgbench": resource.getrusage(resource.RUSAGE_CHILDREN)}
        scripts = [arg for name, weight in MIX.items() for arg in ("-f", f"{HERE}/throughput/{name}.sql@{weight}")]
        started = time.monotonic()
        bench = subprocess.Popen(
            [PGBENCH, "-n", "-M", "prepared", "-c", "8", "-j", "2", "-R", str(rate), "-T", str(STEP),
             "-D", f"users={sizes['users']}", "-D", f"projects={sizes['projects']}", "-D", f"hackathons={sizes['hackathons']}",
             *scripts, DB],
            env=dict(os.environ, PGOPTIONS="-c synchronous_commit=off"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        perf = None
        if profile:
            time.sleep(WARM_UP)
            perf = subprocess.Popen(["perf", "record", "-a", "-g", "-F", "199", "-o", "/tmp/hacksync-throughput.perf",
                                     "--", "sleep", str(max(1, STEP - WARM_UP - 1))],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out, err = bench.communicate(timeout=STEP + 60)
        if perf:
            perf.wait(timeout=60)
        ended = time.monotonic()
        if bench.returncode != 0:
            raise SystemExit(f"pgbench failed: {err.strip()[-500:]}")
        last = int(sql("SELECT coalesce(max(seq), 0) FROM sync.changes"))
        deadline = time.monotonic() + DRAIN
        while time.monotonic() < deadline:
            if sql(f"SELECT count(*) FROM sync.changes WHERE seq > {first} AND seq <= {last} AND processed_at IS NULL") == "0":
                break
            time.sleep(0.25)
        used = {"hacksync": cpu(serve.pid) - before["hacksync"], "postgres": postgres_cpu() - before["postgres"],
                "search": (cpu(sink_pid(sink)) - before["search"]) if sink_pid(sink) else None}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        used["pgbench"] = (children.ru_utime + children.ru_stime) - (before["pgbench"].ru_utime + before["pgbench"].ru_stime)
        written = status(port)["sync"]
        row = sql(f"""
            WITH c AS (SELECT created_at, processed_at FROM sync.changes WHERE seq > {first} AND seq <= {last}),
                 w AS (SELECT min(created_at) + interval '{WARM_UP} seconds' AS t FROM c)
            SELECT count(*), count(*) FILTER (WHERE processed_at IS NULL),
                   extract(epoch FROM max(created_at) - min(created_at)),
                   percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - created_at)) FILTER (WHERE created_at >= w.t),
                   percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - created_at)) FILTER (WHERE created_at >= w.t)
            FROM c, w GROUP BY w.t""").split("|")
        changes, left = int(row[0]), int(row[1])
        span = float(row[2] or 0) or (ended - started)
        p50 = float(row[3]) if row[3] and left == 0 else None
        p99 = float(row[4]) if row[4] and left == 0 else None
        documents = written["documents_written"] + written["documents_deleted"]
        return {"sink": sink, "rate": rate, "pid": serve.pid, "changes_per_s": changes / span, "docs_per_s": documents / span,
                "p50": p50, "p99": p99, "left": left, "cpu": used, "sustained": left == 0 and p99 is not None and p99 < 1.0}
    finally:
        serve.terminate()
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()


def show(result):
    ms = lambda v: f"{v * 1000:7.0f}" if v is not None else "      —"
    c = result["cpu"]
    search = f"{c['search']:5.1f}" if c["search"] is not None else "    —"
    print(f"{result['sink']:6} {result['rate']:7} {result['changes_per_s']:9.0f} {result['docs_per_s']:8.0f} "
          f"{ms(result['p50'])} {ms(result['p99'])} {result['left']:7}   "
          f"{c['hacksync']:5.1f} {c['postgres']:5.1f} {search} {c['pgbench']:5.1f}   "
          f"{'yes' if result['sustained'] else 'no'}", flush=True)


def main():
    sizes = {t: int(sql(f"SELECT coalesce(max(id), 0) FROM {t}")) for t in ("users", "projects", "hackathons")}
    documents = int(sql("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM projects) + (SELECT count(*) FROM hackathons)"))
    print(f"data set: {documents:,} documents ({sizes['users']:,} users, {sizes['projects']:,} projects, "
          f"{sizes['hackathons']:,} hackathons); {STEP} s per step, {DRAIN} s to drain; mix {MIX}")
    print("sink      rate  changes/s   docs/s  p50 ms  p99 ms    left   CPU s: hacksync postgres search pgbench   sustained")
    stopped = set()
    best = {}
    results = []
    for index, rate in enumerate(RATES):
        order = list(SINKS) if index % 2 == 0 else list(reversed(SINKS))
        for sink in order:
            if sink in stopped:
                continue
            result = step(sink, SINKS[sink], rate, sizes)
            results.append(result)
            show(result)
            if result["sustained"]:
                best[sink] = result
            else:
                stopped.add(sink)
    for sink in SINKS:
        if sink in best:
            b = best[sink]
            print(f"{sink}: highest sustained {b['changes_per_s']:.0f} row changes/s, {b['docs_per_s']:.0f} documents/s "
                  f"(p99 lag {b['p99'] * 1000:.0f} ms)")
        else:
            print(f"{sink}: no rate sustained")
    if os.environ.get("PROFILE") and "null" in best:
        b = best["null"]
        print(f"== profile: null server at {b['rate']} row changes/s offered (perf record -a, {STEP - WARM_UP - 1} s)")
        profiled = step("null", SINKS["null"], b["rate"], sizes, profile=True)
        show(profiled)
        report = subprocess.run(["perf", "report", "-i", "/tmp/hacksync-throughput.perf", "--sort", "comm", "--stdio",
                                 "--no-children", "-g", "none"], capture_output=True, text=True).stdout
        print("\n".join(line for line in report.splitlines() if line.strip() and not line.startswith("#"))[:1500])
        report = subprocess.run(["perf", "report", "-i", "/tmp/hacksync-throughput.perf", "--pid", str(profiled["pid"]),
                                 "--sort", "dso,symbol", "--stdio", "--no-children", "-g", "none", "--percent-limit", "1.5"],
                                capture_output=True, text=True).stdout
        print("hacksync's own samples (its threads: NIO event loops and the Swift concurrency pool):")
        print("\n".join(line for line in report.splitlines() if line.strip() and not line.startswith("#"))[:3000])
    with open(os.environ.get("RESULTS", "/dev/null"), "w") as f:
        json.dump(results, f, indent=1)


main()
