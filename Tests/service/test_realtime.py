"""Live fan-out, end to end: Postgres write → sync → event on the socket,
observed by the independent `websockets` client."""
import asyncio
import http.client
import json
import statistics
import time

import pytest
import websockets

from conftest import TOKEN, events_until, receive_json, subscribe


def run(coro):
    return asyncio.run(coro)


def test_filters_apply_to_every_event_type_including_deletes(service):
    h1 = service.sql("INSERT INTO hackathons (name) VALUES ('H1') RETURNING id")
    h2 = service.sql("INSERT INTO hackathons (name) VALUES ('H2') RETURNING id")

    async def scenario():
        async with websockets.connect(service.ws) as ws:
            await subscribe(ws, channel="projects", where={"hackathon.id": int(h1)})
            service.sql(f"INSERT INTO projects (hackathon_id, name) VALUES ({h2}, 'elsewhere')")
            p = service.sql(f"INSERT INTO projects (hackathon_id, name) VALUES ({h1}, 'Compass') RETURNING id")
            # Each write waits for its event: writes that land before the sync
            # reads the first of them coalesce into one event of the last state.
            got = await events_until(ws, lambda m: m.get("event") == "insert")
            service.sql(f"UPDATE projects SET name = 'Compass 2' WHERE id = {p}")
            got += await events_until(ws, lambda m: m.get("event") == "update")
            service.sql(f"DELETE FROM projects WHERE id = {p}")
            got += await events_until(ws, lambda m: m.get("event") == "delete")
            assert [(m["event"], m["id"]) for m in got] == [("insert", p), ("update", p), ("delete", p)]
            assert got[2]["data"]["name"] == "Compass 2", "a delete carries the last document"
            assert all(m["data"]["hackathon"]["id"] == int(h1) for m in got)
            seqs = [m["seq"] for m in got]
            assert seqs == sorted(seqs) and len(set(seqs)) == 3
            assert got[0]["at"].endswith("Z") and "T" in got[0]["at"]
    run(scenario())


def test_event_type_filter_and_several_subscriptions_per_connection(service):
    async def scenario():
        async with websockets.connect(service.ws) as ws:
            await subscribe(ws, channel="users", events=["delete"])
            await subscribe(ws, channel="hackathons", events=["insert"])
            u = service.sql("INSERT INTO users (username, email) VALUES ('ada', 'ada@x') RETURNING id")
            service.sql(f"UPDATE users SET name = 'Ada' WHERE id = {u}")
            service.sql("INSERT INTO hackathons (name) VALUES ('DevJam')")
            service.sql(f"DELETE FROM users WHERE id = {u}")
            got = await events_until(ws, lambda m: m.get("channel") == "users")
            assert [(m["channel"], m["event"]) for m in got] == [("hackathons", "insert"), ("users", "delete")]
            await ws.send(json.dumps({"type": "unsubscribe", "channel": "hackathons"}))
            assert (await receive_json(ws))["type"] == "unsubscribed"
    run(scenario())


def test_private_fields_need_the_token(service):
    async def first_user_event(url, headers=None):
        async with websockets.connect(url, additional_headers=headers) as ws:
            await subscribe(ws, channel="users")
            name = "u%d" % time.monotonic_ns()
            service.sql(f"INSERT INTO users (username, email) VALUES ('{name}', '{name}@example.org')")
            got = await events_until(ws, lambda m: m.get("type") == "event")
            return got[-1]["data"]

    anonymous = run(first_user_event(service.ws))
    assert "email" not in anonymous and "username" in anonymous
    assert "email" in run(first_user_event(service.ws + "?token=" + TOKEN))
    assert "email" in run(first_user_event(service.ws, {"Authorization": "Bearer " + TOKEN}))
    assert "email" not in run(first_user_event(service.ws + "?token=wrong"))

    async def filter_on_email():
        async with websockets.connect(service.ws) as ws:
            await ws.send(json.dumps({"type": "subscribe", "channel": "users", "where": {"email": "a@b"}}))
            reply = await receive_json(ws)
            assert reply["type"] == "error" and "private" in reply["message"]
            await subscribe(ws, channel="users")  # the connection stays open
    run(filter_on_email())


def test_bad_requests_get_an_error_and_the_connection_stays_open(service):
    async def scenario():
        async with websockets.connect(service.ws) as ws:
            for bad in ["not json", "[1]", '{"type":"subscribe"}', '{"type":"subscribe","channel":"teams"}',
                        '{"type":"subscribe","channel":"users","events":["upsert"]}',
                        '{"type":"subscribe","channel":"users","since":-1}', '{"type":"dance","channel":"users"}']:
                await ws.send(bad)
                reply = await receive_json(ws)
                assert reply["type"] == "error" and reply["message"], (bad, reply)
            await ws.send(b"\x00binary")
            assert (await receive_json(ws))["type"] == "error"
            await subscribe(ws, channel="users")
    run(scenario())


def test_resume_replays_once_and_in_order_then_continues_live(service):
    for i in range(30):
        service.sql(f"INSERT INTO users (username, email) VALUES ('r{i}', 'r{i}@x')")

    async def scenario():
        # Wait until all 30 are in the log.
        async with websockets.connect(service.ws) as ws:
            await subscribe(ws, channel="users", since=0)
            first = await events_until(ws, lambda m: m.get("data", {}).get("username") == "r29")
        seqs = [m["seq"] for m in first]
        assert len(seqs) == 30 and seqs == sorted(seqs)
        resume_from = seqs[9]

        async def writer():
            for i in range(30, 60):
                service.sql(f"INSERT INTO users (username, email) VALUES ('r{i}', 'r{i}@x')")
                await asyncio.sleep(0.005)

        async with websockets.connect(service.ws) as ws:
            write = asyncio.create_task(asyncio.to_thread(lambda: asyncio.run(writer())))
            await subscribe(ws, channel="users", since=resume_from)
            got = await events_until(ws, lambda m: m.get("data", {}).get("username") == "r59", timeout=40)
            await write
        names = [m["data"]["username"] for m in got]
        assert names == [f"r{i}" for i in range(10, 60)], "every event after since, once, in order"
        got_seqs = [m["seq"] for m in got]
        assert got_seqs == sorted(got_seqs) and len(set(got_seqs)) == len(got_seqs)
        all_seqs = [int(s) for s in service.sql(f"SELECT seq FROM sync.events WHERE entity = 'users' AND seq > {resume_from} ORDER BY seq").split()]
        assert got_seqs == all_seqs
    run(scenario())


def test_resuming_before_the_retained_log_says_so_first(service):
    for i in range(5):
        service.sql(f"INSERT INTO users (username, email) VALUES ('g{i}', 'g{i}@x')")

    async def scenario():
        async with websockets.connect(service.ws) as ws:
            await subscribe(ws, channel="users", since=0)
            await events_until(ws, lambda m: m.get("data", {}).get("username") == "g4")
        service.sql("DELETE FROM sync.events WHERE seq IN (SELECT seq FROM sync.events ORDER BY seq LIMIT 3)")
        async with websockets.connect(service.ws) as ws:
            await subscribe(ws, channel="users", since=0)
            gap = await receive_json(ws)
            assert gap["type"] == "gap" and gap["requested_since"] == 0 and gap["oldest_available"] > 1, gap
            rest = await events_until(ws, lambda m: m.get("data", {}).get("username") == "g4")
            assert [m["data"]["username"] for m in rest] == ["g3", "g4"]
    run(scenario())


def test_a_slow_consumer_is_closed_with_4008_and_can_resume(slow_service):
    service = slow_service

    async def scenario():
        async with websockets.connect(service.ws, max_queue=1, max_size=2**20) as ws:
            await subscribe(ws, channel="users")
            ws.transport.pause_reading()  # stop reading: the server's queue (20 frames) must overflow
            service.sql("INSERT INTO users (username, email, bio) SELECT 's' || g, 's' || g || '@x', repeat('x', 4000) FROM generate_series(1, 3000) g")
            await asyncio.sleep(3)
            ws.transport.resume_reading()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 20)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008, closed.value
            assert "since" in closed.value.rcvd.reason
    run(scenario())


def test_handshake_refusals_are_plain_http_errors(service):
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
    conn.request("GET", "/ws", headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "8"})
    response = conn.getresponse()
    assert response.status == 426 and response.getheader("Sec-WebSocket-Version") == "13"
    assert "version" in json.loads(response.read())["error"]
    conn.request("GET", "/ws")
    response = conn.getresponse()
    assert response.status == 400
    response.read()


def test_a_thousand_subscribers_all_receive_one_update(service):
    user = service.sql("INSERT INTO users (username, email) VALUES ('fan', 'fan@x') RETURNING id")
    count = 1000

    async def scenario():
        sockets = []
        for batch in range(0, count, 100):
            sockets += await asyncio.gather(*[websockets.connect(service.ws, open_timeout=30) for _ in range(100)])
        await asyncio.gather(*[subscribe(ws, channel="users", where={"id": int(user)}) for ws in sockets])
        latencies = []
        for round_ in range(5):
            name = f"round{round_}"
            started = time.monotonic()
            service.sql(f"UPDATE users SET name = '{name}' WHERE id = {user}")

            async def wait(ws):
                while True:
                    m = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if m.get("data", {}).get("name") == name:
                        return time.monotonic() - started
            latencies += await asyncio.gather(*[wait(ws) for ws in sockets])
        await asyncio.gather(*[ws.close() for ws in sockets])
        latencies.sort()
        print(f"\n1000 subscribers, 5 updates: commit→client median {statistics.median(latencies)*1000:.1f} ms, "
              f"p99 {latencies[int(len(latencies)*0.99)]*1000:.1f} ms (psql process start included)")
        assert len(latencies) == count * 5
    run(scenario())
