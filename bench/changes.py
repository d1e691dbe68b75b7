#!/usr/bin/env python3
"""What computing `changed` and `previous` costs the sync (issue: events
that say what changed).

Each round and mode: with the sync stopped, a backlog of edits to
documents the sync already recorded (every project renamed, and every
tenth user renamed, which changes `members` on each of their projects:
every event is an update with a `changed` list and `previous` values);
then `hacksync serve` starts against a search server that accepts every
bulk at once and keeps nothing (bench/scale/null_search.py), so HackSync
and Postgres show on their own, and drains it. Modes:
  changed     sync.settle as shipped (triggers/R__80_settle.sql)
  unchanged   the same function with `changed` and `previous` left NULL
              (what computes them taken out; everything else identical)
  (and any SETTLE_VARIANTS="name=path": other versions of the file)
After one uncounted round of each mode (it records every document), the
modes run interleaved, each leading in turn. Per round, from the
change log and Postgres' own function statistics (track_functions):
    changes/s   row changes settled per second, first settle to last
    settle ms   time inside sync.settle per 1,000 events
and the CPU seconds of hacksync and Postgres. Prints medians per mode.

Usage: changes.py HACKSYNC ROUNDS NULL_URL
(DATABASE_URL, HACKSYNC_PG_DATA from the environment)
"""
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request

from cpu import cpu, postgres_cpu
from measure import free_port
from psql import query

BINARY, ROUNDS, NULL_URL = sys.argv[1], int(sys.argv[2]), sys.argv[3]
DB = os.environ["DATABASE_URL"]
SETTLE_SQL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "triggers", "R__80_settle.sql")


def sql(statement):
    return query(DB, statement)


def psql_file(text):
    subprocess.run(["psql", DB, "-qX", "-v", "ON_ERROR_STOP=1"], input=text, text=True, check=True,
                   stdout=subprocess.DEVNULL)


def settle_without_changes():
    """R__80_settle.sql with what computes `changed` and `previous` taken
    out (both left NULL): the one difference between the modes."""
    text = open(SETTLE_SQL).read()
    columns = re.compile(r"CASE c\.op\s+WHEN 'insert' THEN ARRAY.*?END AS changed,\s+CASE c\.op WHEN 'update' THEN d\.previous.*?END AS previous", re.S)
    lateral = re.compile(r"CROSS JOIN LATERAL \(\s+SELECT array_agg.*?WHERE c\.op = 'update'\) d\s+", re.S)
    text, n1 = columns.subn("NULL::text[] AS changed, NULL::jsonb AS previous", text)
    text, n2 = lateral.subn("", text)
    if (n1, n2) != (1, 1):
        raise SystemExit(f"R__80_settle.sql changed shape: replaced {n1} column, {n2} lateral expressions")
    return text


MODES = {"changed": open(SETTLE_SQL).read(), "unchanged": settle_without_changes()}
# SETTLE_VARIANTS="name=path ...": more versions of R__80_settle.sql to compare (an earlier one, a candidate).
MODES.update({name: open(path).read() for name, path in (v.split("=", 1) for v in os.environ.get("SETTLE_VARIANTS", "").split())})


def status_ok(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as response:
            return b'"leader"' in response.read()
    except OSError:
        return False


def make_backlog(tag):
    sql(f"UPDATE projects SET name = 'p' || id || ' {tag}'")
    sql(f"UPDATE users SET name = 'u' || id || ' {tag}' WHERE id % 10 = 0")


def drain(mode, tag):
    psql_file(MODES[mode])
    first = int(sql("SELECT coalesce(max(seq), 0) FROM sync.changes"))
    first_event = int(sql("SELECT coalesce(max(seq), 0) FROM sync.events"))
    make_backlog(tag)
    sql("SELECT pg_stat_reset()")
    port = free_port()
    env = dict(os.environ, ELASTICSEARCH_URL=NULL_URL)
    serve = subprocess.Popen([BINARY, "serve", "--listen", f"127.0.0.1:{port}", "--log-level", "warning",
                              "--retention-rows", "1000000000"], env=env)
    try:
        before = (cpu(serve.pid), postgres_cpu())
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if sql(f"SELECT count(*) FROM sync.changes WHERE seq > {first} AND processed_at IS NULL") == "0":
                break
            time.sleep(0.2)
        else:
            raise SystemExit(f"{mode}: the backlog did not drain in 600 s")
        used = (cpu(serve.pid) - before[0], postgres_cpu() - before[1])
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    changes, span = sql(f"SELECT count(*), extract(epoch FROM max(processed_at) - min(processed_at)) "
                        f"FROM sync.changes WHERE seq > {first}").split("|")
    events, with_changed = (int(v) for v in sql(f"SELECT count(*), count(changed) FROM sync.events WHERE seq > {first_event}").split("|"))
    if with_changed != (0 if mode == "unchanged" else events):
        raise SystemExit(f"{mode}: {with_changed} of {events} events have `changed`")
    calls, total_ms = sql("SELECT coalesce(sum(calls), 0), coalesce(sum(total_time), 0) FROM pg_stat_user_functions "
                          "WHERE schemaname = 'sync' AND funcname = 'settle'").split("|")
    return {"mode": mode, "changes": int(changes), "per_s": int(changes) / float(span), "events": events,
            "settle_ms_per_1000": float(total_ms) / max(events, 1) * 1000, "calls": int(calls),
            "cpu_hacksync": used[0], "cpu_postgres": used[1]}


def main():
    sql("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET track_functions = ''pl''', current_database()); END $$")
    try:
        documents = sql("SELECT (SELECT count(*) FROM users) || ' users, ' || (SELECT count(*) FROM projects) || ' projects'")
        print(f"data set: {documents}; each round: every project renamed, every tenth user renamed (cascades to members)")
        print("mode        changes   changes/s   events   settle ms/1,000 events   calls   CPU s: hacksync postgres")
        results = {mode: [] for mode in MODES}
        for warm in MODES:  # records every document once; not counted
            drain(warm, f"warm {warm}")
        for round_ in range(ROUNDS):
            order = list(MODES)[round_ % len(MODES):] + list(MODES)[:round_ % len(MODES)]  # each mode leads in turn
            for mode in order:
                r = drain(mode, f"r{round_} {mode}")
                results[mode].append(r)
                print(f"{mode:10} {r['changes']:8} {r['per_s']:11.0f} {r['events']:8} {r['settle_ms_per_1000']:24.1f} "
                      f"{r['calls']:7}   {r['cpu_hacksync']:15.1f} {r['cpu_postgres']:8.1f}", flush=True)
        print("medians over", ROUNDS, "rounds:")
        for mode, rows in results.items():
            print(f"  {mode:10} {statistics.median(r['per_s'] for r in rows):7.0f} changes/s, "
                  f"{statistics.median(r['settle_ms_per_1000'] for r in rows):6.1f} ms in sync.settle per 1,000 events, "
                  f"CPU hacksync {statistics.median(r['cpu_hacksync'] for r in rows):.1f} s, "
                  f"postgres {statistics.median(r['cpu_postgres'] for r in rows):.1f} s")
    finally:
        sql("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET track_functions', current_database()); END $$")
        psql_file(MODES["changed"])


main()
