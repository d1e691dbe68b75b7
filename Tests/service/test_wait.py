"""Read-your-writes: `GET /api/wait?xid=N`, against the real service and
search server. After a 200, the write is found by a search made at once,
with no refresh of the caller's own."""
import json
import subprocess
import time
import urllib.error
import urllib.request

from conftest import BINARY


def get(service, path, timeout=40):
    try:
        with urllib.request.urlopen(service.url + path, timeout=timeout) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def found(service, entity, query):
    body = json.dumps({"query": {"match": query}}).encode()
    request = urllib.request.Request(f"{service.elasticsearch_url}/{service.prefix}{entity}/_search", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.load(r)["hits"]["total"]["value"]


def test_a_write_waited_for_is_searchable_at_once(service):
    # 100 app-style writes, each waited for, then searched at once: zero misses.
    for i in range(100):
        xid = service.sql(f"WITH u AS (INSERT INTO users (username, email) VALUES ('rw{i}', 'rw{i}@x') RETURNING id) "
                          "SELECT pg_current_xact_id() FROM u")
        status, body = get(service, f"/api/wait?xid={xid}&timeout=10s")
        assert status == 200 and body["xid"] == int(xid) and body["synced"] is True, body
        assert isinstance(body["seq"], int) and body["seq"] > 0
        assert found(service, "users", {"username": f"rw{i}"}) == 1, "searchable without a refresh of our own"


def test_nothing_captured_is_synced_at_once_and_bad_requests_are_refused(service):
    xid = service.sql("SELECT pg_current_xact_id()")  # a transaction that wrote nothing
    status, body = get(service, f"/api/wait?xid={xid}")
    assert status == 200 and body["synced"] is True, body
    for query in ["", "?xid=abc", "?xid=-1", "?xid=1.5", "?xid=1&timeout=soon", "?xid=1&timeout=0s", "?xid=1&timeout=31s"]:
        status, body = get(service, "/api/wait" + query)
        assert status == 400 and "error" in body, (query, status, body)


def test_a_write_the_sync_cannot_settle_yet_times_out_with_504_then_syncs(service):
    # Hold the table a settle writes to (as a stalled settle would find it):
    # the sync writes the document but cannot mark its change processed.
    holder = subprocess.Popen(["psql", service.db_url, "-qAtX", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        holder.stdin.write("BEGIN; LOCK TABLE sync.documents IN SHARE MODE; SELECT 'locked';\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "locked"
        xid = service.sql("WITH u AS (INSERT INTO users (username, email) VALUES ('late', 'late@x') RETURNING id) "
                          "SELECT pg_current_xact_id() FROM u")
        status, body = get(service, f"/api/wait?xid={xid}&timeout=500ms")
        assert status == 504 and body["synced"] is False and body["waiting_for"] == "sync", body
    finally:
        holder.stdin.write("COMMIT;\n")
        holder.stdin.close()
        holder.wait(timeout=10)
    status, body = get(service, f"/api/wait?xid={xid}&timeout=10s")
    assert status == 200 and body["synced"] is True, body
    assert found(service, "users", {"username": "late"}) == 1


def test_hacksync_wait_answers_like_the_endpoint(service):
    xid = service.sql("WITH u AS (INSERT INTO users (username, email) VALUES ('cli', 'cli@x') RETURNING id) "
                      "SELECT pg_current_xact_id() FROM u")
    done = subprocess.run([BINARY, "wait", "--xid", xid, "--timeout", "10s", "--url", service.url],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["synced"] is True
    assert found(service, "users", {"username": "cli"}) == 1
    bad = subprocess.run([BINARY, "wait", "--xid", "soon", "--url", service.url], capture_output=True, text=True, timeout=60)
    assert bad.returncode not in (0, 1) and "xid" in bad.stderr
