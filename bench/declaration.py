#!/usr/bin/env python3
"""A declaration change under load: what the service does by itself when it
starts against a projects index built from another declaration.

The projects index (built by `hacksync reindex` from this build's
declaration) is turned into one built by the previous declaration: a field
`legacy_note` is added to its mapping and `_meta` records the hash of the
mapping so extended, as the service records it (the hash is computed here
as IndexMappings.propertiesHash does, and checked first against the hash the
service wrote). So the service meets exactly what a deploy that drops a
field meets: an index whose recorded declaration is not its own.

First a baseline: 30 s of the same load with the index current (no job).
Then `hacksync serve` starts and, while it reindexes, edits projects
as one user does (an edit, then /api/wait until it is searchable, then the
next, at most EDITS_PER_S a second) and searches /api/search for the
edited ones every SEARCH_EVERY seconds, watching the alias. Prints
the job's time, the edits' and searches' latency percentiles, errors, dead letters,
alias swaps, the CPU seconds of HackSync, Postgres and the search server,
and checks the end state: the new index has the declared mapping, every
project is in it, every edit is there.

Usage: declaration.py HACKSYNC_BINARY EDITS_PER_S SEARCH_PID
       (DATABASE_URL, ELASTICSEARCH_URL from the environment)
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

BINARY, EDITS_PER_S, SEARCH_PID = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
DB, ES = os.environ["DATABASE_URL"], os.environ["ELASTICSEARCH_URL"]
META_KEY = "hacksync_declaration"
# A reader's pace; what one search costs the search server is printed at the end.
SEARCH_EVERY = 5


def request(method, url, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def canonical(properties):
    """IndexMappings.canonical: an object field's implied type:object dropped."""
    out = {}
    for name, prop in properties.items():
        if isinstance(prop, dict) and "properties" in prop:
            prop = {k: v for k, v in prop.items() if not (k == "type" and v == "object")}
            prop["properties"] = canonical(prop["properties"])
        out[name] = prop
    return out


def properties_hash(properties):
    """IndexMappings.propertiesHash: FNV-1a 64 of the canonical JSON, keys sorted."""
    text = json.dumps(canonical(properties), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return format(h, "x")


def alias_target():
    status, body = request("GET", f"{ES}/_alias/projects")
    return next(iter(body)) if status == 200 and body else None


def mapping(index):
    _, body = request("GET", f"{ES}/{index}/_mapping")
    return body[index]["mappings"]


def cpu_by_pid(name=None, pids=()):
    """CPU seconds (user + system, children included) of the given processes, or of every process named `name`."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids or [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            with open(f"/proc/{pid}/stat") as f:
                comm, fields = f.read().split(" (", 1)[1].rsplit(")", 1)
            if name and comm != name:
                continue
            fields = fields.split()
            seconds[int(pid)] = sum(int(fields[i]) for i in (11, 12, 13, 14)) / tick
        except (FileNotFoundError, ProcessLookupError):
            pass  # exited meanwhile
    return seconds


def cpu_since(before, now):
    """CPU spent since `before` by the processes alive now (a backend that exited meanwhile is not counted)."""
    return sum(seconds - before.get(pid, 0) for pid, seconds in now.items())


def pretend_previous_declaration(index):
    live = mapping(index)
    recorded = live.get("_meta", {}).get(META_KEY)
    computed = properties_hash(live["properties"])
    if recorded != computed:
        raise SystemExit(f"hash mismatch: the service recorded {recorded}, this script computes {computed}")
    previous = dict(live["properties"], legacy_note={"type": "keyword"})
    status, body = request("PUT", f"{ES}/{index}/_mapping",
                           {"properties": {"legacy_note": {"type": "keyword"}}, "_meta": {META_KEY: properties_hash(previous)}})
    if status != 200:
        raise SystemExit(f"PUT _mapping: {status} {body}")
    after = mapping(index)
    assert after["_meta"][META_KEY] == properties_hash(after["properties"]) != computed
    return computed


class Load:
    def __init__(self, base, projects):
        self.base, self.projects = base, projects
        self.stop = threading.Event()
        self.edits, self.edit_failures, self.searches, self.search_failures = [], [], [], []
        self.edited, self.aliases = {}, []

    def edit(self):
        """One user editing: an edit, its wait (/api/wait: commit → searchable), then the next, at most EDITS_PER_S a second."""
        n = 0
        while not self.stop.is_set():
            started = time.monotonic()
            project, n = self.projects[n % len(self.projects)], n + 1
            name = f"Declared {project} #{n}"
            xid = query(DB, f"WITH p AS (UPDATE projects SET name = '{name}' WHERE id = {project} RETURNING id) SELECT pg_current_xact_id() FROM p")
            committed = time.monotonic()
            status, body = request("GET", f"{self.base}/api/wait?xid={xid}&timeout=30s", timeout=40)
            if status == 200:
                self.edits.append(time.monotonic() - committed)
                self.edited[project] = name
            else:
                self.edit_failures.append((status, body))
            self.stop.wait(max(0, 1 / EDITS_PER_S - (time.monotonic() - started)))

    def search(self):
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                status, _ = request("GET", f"{self.base}/api/search?index=projects&q=Declared", timeout=10)
            except Exception as e:  # noqa: BLE001 - a refused connection counts as a failure
                status = str(e)
            if status == 200:
                self.searches.append(time.monotonic() - started)
            else:
                self.search_failures.append(status)
            target = alias_target()
            if not self.aliases or self.aliases[-1] != target:
                self.aliases.append(target)
            self.stop.wait(SEARCH_EVERY)


def summary(label, values):
    if not values:
        return f"{label}: none"
    ms = [v * 1000 for v in values]
    return f"{label}: {len(ms)}, p50 {percentile(ms, 0.5):.0f} ms, p90 {percentile(ms, 0.9):.0f} ms, p99 {percentile(ms, 0.99):.0f} ms, max {max(ms):.0f} ms"


def start_serve():
    port = free_port()
    serve = subprocess.Popen([BINARY, "serve", "--listen", f"127.0.0.1:{port}", "--log-level", "warning"])
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if request("GET", base + "/healthz", timeout=2)[0] == 200:
                return serve, base
        except Exception:  # noqa: BLE001 - not listening yet
            pass
        time.sleep(0.1)
    serve.terminate()
    raise SystemExit("the service never answered /healthz")


def run_load(load):
    threads = [threading.Thread(target=load.edit), threading.Thread(target=load.search)]
    for t in threads:
        t.start()
    return threads


def stop_load(load, threads):
    load.stop.set()
    for t in threads:
        t.join()


def baseline(projects, seconds=30):
    """The same load with no job running: what the edits and searches cost on this data anyway."""
    jobs_before = int(query(DB, "SELECT coalesce(max(id), 0) FROM sync.index_jobs"))
    serve, base = start_serve()
    try:
        load = Load(base, projects)
        threads = run_load(load)
        time.sleep(seconds)
        stop_load(load, threads)
    finally:
        serve.terminate()
        serve.wait()
    if int(query(DB, f"SELECT count(*) FROM sync.index_jobs WHERE id > {jobs_before}")):
        raise SystemExit("the baseline run started an index job: the index was not current")
    print(f"baseline, {seconds} s without a job:")
    print("  " + summary("edits committed → searchable (/api/wait)", load.edits) + f"; failed {len(load.edit_failures)} {load.edit_failures[:3]}")
    print("  " + summary("searches answered", load.searches) + f"; failed {len(load.search_failures)}")


def main():
    projects = [int(i) for i in query(DB, "SELECT id FROM projects ORDER BY random() LIMIT 2000").split()]
    baseline(projects[:500])  # the two phases edit different projects
    old_index = alias_target()
    declared = pretend_previous_declaration(old_index)
    total = int(query(DB, "SELECT count(*) FROM projects"))
    jobs_before = int(query(DB, "SELECT coalesce(max(id), 0) FROM sync.index_jobs"))
    dead_before = int(query(DB, "SELECT count(*) FROM sync.dead_letters"))
    print(f"{total} projects in {old_index}, which now records the previous declaration; the service declares {declared}")

    cpu_pg, cpu_search = cpu_by_pid("postgres"), cpu_by_pid(pids=[SEARCH_PID])
    started = time.monotonic()
    serve, base = start_serve()
    load = Load(base, projects[500:])
    threads = []
    try:
        threads = run_load(load)
        deadline = time.monotonic() + 1800
        job = None
        while time.monotonic() < deadline:
            job = query(DB, "SELECT id, phase, extract(epoch FROM finished_at - started_at), reason FROM sync.index_jobs "
                            f"WHERE entity = 'projects' AND id > {jobs_before} ORDER BY id LIMIT 1")
            if job and job.split("|")[1] in ("done", "failed"):
                break
            time.sleep(0.5)
        else:
            raise SystemExit(f"no finished reindex after 30 minutes (job: {job})")
        finished = time.monotonic()
        time.sleep(2)  # edits and searches after the swap
        stop_load(load, threads)
        if load.aliases[-1] != alias_target():  # the searcher sleeps: it may not have looked since the swap
            load.aliases.append(alias_target())
        cpu_hacksync = cpu_since({}, cpu_by_pid(pids=[serve.pid]))
        cpu_pg, cpu_search = cpu_since(cpu_pg, cpu_by_pid("postgres")), cpu_since(cpu_search, cpu_by_pid(pids=[SEARCH_PID]))
        job_id, phase, seconds, reason = job.split("|", 3)
        jobs = int(query(DB, f"SELECT count(*) FROM sync.index_jobs WHERE id > {jobs_before}"))
        print(f"job {job_id}: {phase} in {float(seconds):.1f} s ({total / float(seconds):.0f} documents/s); "
              f"serve start → swap {finished - started:.1f} s; jobs started: {jobs}\n  reason: {reason}")
        print(summary("edits committed → searchable (/api/wait)", load.edits) + f"; failed {len(load.edit_failures)} {load.edit_failures[:3]}")
        print(summary("searches answered", load.searches) + f"; failed {len(load.search_failures)} {load.search_failures[:3]}")
        print(f"alias targets seen: {' → '.join(load.aliases)}")
        print(f"CPU seconds from serve start: hacksync {cpu_hacksync:.1f}, Postgres {cpu_pg:.1f}, search server {cpu_search:.1f}")

        before = cpu_by_pid(pids=[SEARCH_PID])
        for _ in range(5):
            request("GET", f"{base}/api/search?index=projects&q=Declared", timeout=60)
        print(f"one /api/search over {total} projects costs the search server {cpu_since(before, cpu_by_pid(pids=[SEARCH_PID])) / 5 * 1000:.0f} ms of CPU")
        new_index = alias_target()
        live = mapping(new_index)
        request("POST", f"{ES}/projects/_refresh")
        _, count = request("GET", f"{ES}/projects/_count")
        ids = list(load.edited)
        _, docs = request("POST", f"{ES}/projects/_mget", {"ids": [str(i) for i in ids]})
        names = dict(line.split("|", 1) for line in query(DB, f"SELECT id, name FROM projects WHERE id IN ({','.join(map(str, ids)) or 0})").splitlines())
        stale = [d["_id"] for d in docs["docs"] if d.get("_source", {}).get("name") != names.get(d["_id"])]
        dead = int(query(DB, "SELECT count(*) FROM sync.dead_letters")) - dead_before
        checks = {
            "the job finished": phase == "done",
            "one job": jobs == 1,
            "the alias swapped once": load.aliases == [old_index, new_index] and new_index != old_index,
            "the new index has the declared mapping": "legacy_note" not in live["properties"] and live["_meta"][META_KEY] == declared,
            f"every project indexed ({count.get('count')} of {total})": count.get("count") == total,
            f"every edit there ({len(ids) - len(stale)} of {len(ids)})": not stale,
            f"no dead letters ({dead})": dead == 0,
            "no failed edit or search": not load.edit_failures and not load.search_failures,
        }
        for name, ok in checks.items():
            print(f"  {'ok  ' if ok else 'FAIL'} {name}")
        if not all(checks.values()):
            raise SystemExit(1)
    finally:
        load.stop.set()
        serve.terminate()
        serve.wait()


if __name__ == "__main__":
    main()
