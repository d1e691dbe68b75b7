"""Read-your-writes: `GET /api/wait?xid=N`, against the real service and
search server. After a 200, the write is found by a search made at once,
with no refresh of the caller's own."""
import asyncio
import contextlib
import json
import os
import subprocess
import urllib.error
import urllib.request

import jsonschema
import websockets
import yaml

from conftest import BINARY, receive_json, subscribe

SCHEMAS = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "..", "..", "openapi.yaml")))["components"]["schemas"]


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
    for query in ["", "?xid=abc", "?xid=-1", "?xid=1.5", "?xid=1&timeout=soon", "?xid=1&timeout=", "?xid=1&timeout=-1s", "?xid=1&timeout=.5s"]:
        status, body = get(service, "/api/wait" + query)
        assert status == 400 and "error" in body, (query, status, body)
    # Past 30 s waits 30 s (the schema's whole range is accepted); 0 asks whether it is
    # searchable now, which a transaction just read is not until the next refresh.
    for timeout in ["31s", "99999999999999999999ms"]:
        status, body = get(service, f"/api/wait?xid={xid}&timeout={timeout}")
        assert status == 200 and body["synced"] is True, (timeout, status, body)
    for timeout in ["0", "0s"]:
        status, body = get(service, f"/api/wait?xid={xid}&timeout={timeout}")
        assert (status, body.get("waiting_for")) in [(200, None), (504, "refresh")], (timeout, status, body)


@contextlib.contextmanager
def settles_held(service):
    """Holds the table a settle writes to, as a stalled settle would find it:
    the sync writes documents but cannot mark their changes processed."""
    holder = subprocess.Popen(["psql", service.db_url, "-qAtX", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        holder.stdin.write("BEGIN; LOCK TABLE sync.documents IN SHARE MODE; SELECT 'locked';\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.stdin.write("COMMIT;\n")
        holder.stdin.close()
        holder.wait(timeout=10)


def test_a_write_the_sync_cannot_settle_yet_times_out_with_504_then_syncs(service):
    with settles_held(service):
        xid = service.sql("WITH u AS (INSERT INTO users (username, email) VALUES ('late', 'late@x') RETURNING id) "
                          "SELECT pg_current_xact_id() FROM u")
        status, body = get(service, f"/api/wait?xid={xid}&timeout=500ms")
        assert status == 504 and body["synced"] is False and body["waiting_for"] == "sync", body
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


def test_a_wait_on_the_socket_is_answered_after_the_events_of_the_write(service):
    # A subscriber edits, then asks on its own socket: the answer comes after
    # the event of its write, and the write is searchable at once.
    async def scenario():
        async with websockets.connect(service.ws) as ws:
            await subscribe(ws, channel="users")
            for i in range(20):
                xid = service.sql(f"WITH u AS (INSERT INTO users (username, email) VALUES ('ws{i}', 'ws{i}@x') RETURNING id) "
                                  "SELECT pg_current_xact_id() FROM u")
                request = {"type": "wait", "xid": int(xid), "timeout_ms": 10000}
                jsonschema.validate(request, SCHEMAS["Wait"])
                await ws.send(json.dumps(request))
                seen = []
                while True:
                    message = await receive_json(ws)
                    if message["type"] == "synced":
                        break
                    assert message["type"] == "event", message
                    seen.append(message)
                jsonschema.validate(message, SCHEMAS["Synced"])
                assert message["xid"] == int(xid) and message["seq"] >= max(m["seq"] for m in seen), (message, seen)
                assert any(m["data"]["username"] == f"ws{i}" for m in seen), "the write's own event came first"
                assert found(service, "users", {"username": f"ws{i}"}) == 1
    asyncio.run(scenario())


def test_waits_on_the_socket_run_beside_other_requests_and_bad_ones_get_errors(service):
    async def scenario():
        async with websockets.connect(service.ws) as ws:
            # A wait that cannot finish yet does not hold up the requests behind it.
            xid = service.sql("WITH u AS (INSERT INTO users (username, email) VALUES ('wslate', 'wslate@x') RETURNING id) "
                              "SELECT pg_current_xact_id() FROM u")
            await ws.send(json.dumps({"type": "wait", "xid": xid, "timeout_ms": 1500}))  # a string of digits works too
            await subscribe(ws, channel="projects")
            for bad in [{"xid": -1}, {"xid": 1.5}, {"xid": "abc"}, {}, {"xid": 1, "timeout_ms": 0},
                        {"xid": 1, "timeout_ms": 30001}, {"xid": 1, "channel": "users"}]:
                await ws.send(json.dumps({"type": "wait", **bad}))
                reply = await receive_json(ws)
                assert reply["type"] == "error", (bad, reply)
            timeout = await receive_json(ws, timeout=10)
            jsonschema.validate(timeout, SCHEMAS["Timeout"])
            assert timeout == {"type": "timeout", "xid": int(xid), "synced": False, "waiting_for": "sync",
                               "message": "timed out waiting for changes of the transaction to sync"}, timeout
            return xid

    with settles_held(service):
        xid = asyncio.run(scenario())
    status, body = get(service, f"/api/wait?xid={xid}&timeout=10s")
    assert status == 200 and body["synced"] is True, body
