"""The server's own fan-out figure without the subscribers' CPU in it:
opens N raw WebSocket subscribers (loopback only) that complete the
handshake, subscribe to one user's document and then never read, so the
frames land in their socket buffers and no client process competes for the
cores. Then renames the user ROUNDS times, one at a time, and reads
`hacksync_realtime_fanout_seconds` (publish → every frame handed to its
socket) from /metrics around each round.

    .venv/bin/python bench/ws_silent.py HOST:PORT DATABASE_URL N ROUNDS
"""
import base64
import json
import os
import re
import resource
import socket
import statistics
import struct
import sys
import time
import urllib.request

from psql import query


def masked_text(text):
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81, 0x80 | len(payload)]) if len(payload) < 126 else bytes([0x81, 0x80 | 126]) + struct.pack("!H", len(payload))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def subscriber(host, port, user_id):
    s = socket.create_connection((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += s.recv(4096)
    assert response.startswith(b"HTTP/1.1 101"), response[:100]
    s.sendall(masked_text(json.dumps({"type": "subscribe", "channel": "users", "where": {"id": user_id}})))
    return s


def metric(host, port, name):
    text = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10).read().decode()
    return float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))


def fanout_totals(host, port):
    return metric(host, port, "hacksync_realtime_fanout_seconds_sum"), metric(host, port, "hacksync_realtime_fanout_seconds_count")


def main():
    address, db, n, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    host, port = address.rsplit(":", 1)
    port = int(port)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 100)), hard))
    user_id = int(query(db, "SELECT min(id) FROM users"))
    sockets = [subscriber(host, port, user_id) for _ in range(n)]
    time.sleep(2)  # every subscription confirmed (the confirmations wait unread too)
    # They never answer a ping: the server closes them after its idle timeout (75 s).
    connected = int(metric(host, port, "hacksync_ws_connections"))
    assert connected >= n, f"only {connected} of {n} subscribers are connected"
    figures = []
    for round_ in range(rounds):
        before = fanout_totals(host, port)
        query(db, f"UPDATE users SET name = 'silent-{round_}-{time.time()}' WHERE id = {user_id}")
        deadline = time.time() + 10
        while (after := fanout_totals(host, port))[1] <= before[1]:
            if time.time() > deadline:
                raise SystemExit(f"round {round_}: no fan-out recorded")
            time.sleep(0.01)
        # The histogram's count and sum are two updates: read again once both are in.
        time.sleep(0.05)
        after = fanout_totals(host, port)
        figures.append((after[0] - before[0]) / (after[1] - before[1]) * 1000)
        time.sleep(0.1)
    figures.sort()
    pct = lambda p: figures[min(len(figures) - 1, int((len(figures) - 1) * p))]
    print(f"publish → last frame handed to a socket, {n} subscribers that do not read, {rounds} rounds: "
          f"median {pct(0.5):.2f} ms, p90 {pct(0.9):.2f} ms, p99 {pct(0.99):.2f} ms, max {figures[-1]:.2f} ms")
    for s in sockets:
        s.close()


if __name__ == "__main__":
    main()
