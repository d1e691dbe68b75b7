"""Memory per idle WebSocket connection: opens N subscribers against a running
`hacksync serve` (loopback only), each subscribed to one channel, and reports
the server's RSS growth divided by N, with and without permessage-deflate.

    .venv/bin/python bench/ws_memory.py PID ws://127.0.0.1:PORT/ws N plain|deflate [idle-seconds]

With idle-seconds, the connections then sit idle that long (the server pings
each every 30 s; the client answers) and the server's CPU time over the
window is reported.
Run each mode against a freshly started server: memory freed by an earlier
run is kept by the allocator and would hide the growth.
"""
import asyncio
import os
import json
import resource
import sys

import websockets


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def open_many(url, n, compression):
    sockets = []
    for start in range(0, n, 250):
        batch = await asyncio.gather(*[websockets.connect(url, compression=compression, open_timeout=60, ping_interval=None)
                                       for _ in range(min(250, n - start))])
        sockets += batch
    for ws in sockets:
        await ws.send(json.dumps({"type": "subscribe", "channel": "projects"}))
    for ws in sockets:
        await ws.recv()
    return sockets


async def measure(pid, url, n, compression, idle_seconds):
    before = rss_kib(pid)
    sockets = await open_many(url, n, compression)
    await asyncio.sleep(2)
    after = rss_kib(pid)
    if idle_seconds:
        cpu = cpu_seconds(pid)
        await asyncio.sleep(idle_seconds)
        cpu = cpu_seconds(pid) - cpu
        alive = sum(1 for ws in sockets if ws.close_code is None)
        print(f"{n} idle subscribers for {idle_seconds} s: server CPU {cpu:.2f} s "
              f"({cpu / idle_seconds * 100:.1f}% of one core), {alive} still open")
    deflate = sockets[0].response.headers.get("Sec-WebSocket-Extensions") or "none"
    await asyncio.gather(*[ws.close() for ws in sockets])
    await asyncio.sleep(2)
    per = (after - before) * 1024 / n
    print(f"{n} idle subscribers, extensions={deflate}: RSS {before/1024:.1f} → {after/1024:.1f} MiB, "
          f"{per/1024:.1f} KiB per connection")


def main():
    pid, url = int(sys.argv[1]), sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    mode = sys.argv[4] if len(sys.argv) > 4 else "plain"
    idle_seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n * 2 + 100)), hard))
    asyncio.run(measure(pid, url, n, "deflate" if mode == "deflate" else None, idle_seconds))


if __name__ == "__main__":
    main()
