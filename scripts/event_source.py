#!/usr/bin/env python3
"""A paginated, rate-limited events API to import from (`hacksync import
events`), for the tests and `make bench-import`. Everything a real one does
to an importer, on purpose and reproducibly:

- cursor pagination (`GET /events?limit=N[&cursor=C]`, or `&after=<id>`),
  optionally over disjoint partitions (`&partition=i&partitions=n`),
  cursors that expire after `--cursor-ttl` seconds, and every
  `--refuse-cursor-every`-th cursor refused as expired anyway;
- a rate limit of `--rate` requests per `--window` seconds, announced on
  every answer (`X-RateLimit-*`, or the IETF `RateLimit-*` with
  `--header-style ietf`) and enforced with 429 + Retry-After;
- a silent cap on the page size (`--page-cap`);
- records sent again across page boundaries (every 7th page starts 2
  records early);
- timestamps in seven formats, and every `--malformed-every`-th record
  with one in none;
- every `--error-every`-th request a 500 or a 503, every `--slow-every`-th
  answered after `--slow-seconds`.

Event i (0-based) is `evt_000000042`-style, so a test knows exactly which
ids the source has: all of them but the malformed ones (`GET /_expected`).
`GET /_stats` counts what was served. Listens on 127.0.0.1 only.
"""
import argparse
import base64
import email.utils
import json
import math
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

KINDS = ["commit", "submission", "comment", "star", "registration", "review"]


def event_id(i):
    return "evt_%09d" % i


def timestamp(i, seconds):
    """Seven formats, all meaning the same instant."""
    fmt = i % 7
    if fmt == 0:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
    if fmt == 1:  # +05:30
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds + 19800)) + "+05:30"
    if fmt == 2:  # fraction, -0800
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds - 28800)) + ".250-0800"
    if fmt == 3:
        return seconds  # epoch seconds
    if fmt == 4:
        return seconds * 1000 + 250  # epoch milliseconds
    if fmt == 5:
        return str(seconds * 1000)  # epoch milliseconds as a string
    return email.utils.formatdate(seconds, usegmt=False)  # RFC 2822, +0000


class Source:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.window_start = 0.0
        self.window_used = 0
        self.requests = 0
        self.cursor_uses = 0
        self.stats = {"requests": 0, "pages": 0, "records": 0, "rate_limited": 0, "errors": 0,
                      "cursors_refused": 0, "slow": 0, "unauthorized": 0}
        self.base = 1_700_000_000

    def malformed(self, i):
        every = self.args.malformed_every
        return every > 0 and i % every == every - 1

    def record(self, i):
        a = self.args
        seconds = self.base + i * 3
        rec = {"id": event_id(i), "type": KINDS[i % len(KINDS)],
               "userId": 1 + (i * 7919) % a.users if a.users else None,
               "projectId": 1 + (i * 104729) % a.projects if a.projects and i % 5 else None,
               "timestamp": "sometime last week" if self.malformed(i) else timestamp(i, seconds),
               "details": {"n": i, "note": "line\tbreak\n\"quoted\" \\ ünïcode"}}
        return rec

    def expected(self):
        return [event_id(i) for i in range(self.args.events) if not self.malformed(i)]

    def cursor(self, position):
        raw = json.dumps({"p": position, "t": time.time()}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def read_cursor(self, text):
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            return int(data["p"]), float(data["t"])
        except Exception:
            return None

    def admit(self):
        """Rate limit: (allowed, headers)."""
        a = self.args
        now = time.time()
        with self.lock:
            start = math.floor(now / a.window) * a.window
            if start != self.window_start:
                self.window_start, self.window_used = start, 0
            reset = start + a.window
            allowed = self.window_used < a.rate
            if allowed:
                self.window_used += 1
            remaining = a.rate - self.window_used
        headers = []
        if a.header_style == "ietf":
            headers += [("RateLimit-Limit", a.rate), ("RateLimit-Remaining", remaining),
                        ("RateLimit-Reset", max(0, math.ceil(reset - now)))]
        elif a.header_style == "x":
            headers += [("X-RateLimit-Limit", a.rate), ("X-RateLimit-Remaining", remaining),
                        ("X-RateLimit-Reset", math.ceil(reset))]
        if not allowed:
            headers.append(("Retry-After", max(1, math.ceil(reset - now))))
        return allowed, headers

    def count(self, key, n=1):
        with self.lock:
            self.stats[key] += n


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    source = None

    def log_message(self, *args):
        pass

    def send_json(self, status, body, headers=()):
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, str(value))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        src = self.source
        a = src.args
        url = urlparse(self.path)
        if url.path == "/_stats":
            with src.lock:
                return self.send_json(200, dict(src.stats))
        if url.path == "/_expected":
            return self.send_json(200, src.expected())
        if url.path != "/events":
            return self.send_json(404, {"error": "not found"})
        if a.api_key and self.headers.get("X-API-Key") != a.api_key:
            src.count("unauthorized")
            return self.send_json(401, {"error": "missing or wrong X-API-Key"})
        with src.lock:
            src.requests += 1
            n = src.requests
            src.stats["requests"] += 1
        allowed, headers = src.admit()
        if not allowed:
            src.count("rate_limited")
            return self.send_json(429, {"error": "rate limit exceeded"}, headers)
        if a.error_every and n % a.error_every == 0:
            src.count("errors")
            if n % (2 * a.error_every) == 0:
                return self.send_json(503, {"error": "unavailable"}, headers + [("Retry-After", 1)])
            return self.send_json(500, {"error": "internal error"}, headers)
        if a.slow_every and n % a.slow_every == 0:
            src.count("slow")
            time.sleep(a.slow_seconds)
        query = parse_qs(url.query)
        try:
            limit = int(query.get("limit", ["100"])[0])
        except ValueError:
            return self.send_json(400, {"error": "limit must be a number"}, headers)
        if limit < 1:
            return self.send_json(400, {"error": "limit must be at least 1"}, headers)
        limit = min(limit, a.page_cap)  # silently
        position = 0
        if "cursor" in query:
            parsed = src.read_cursor(query["cursor"][0])
            with src.lock:
                src.cursor_uses += 1
                refuse = a.refuse_cursor_every and src.cursor_uses % a.refuse_cursor_every == 0
            if parsed is None:
                return self.send_json(400, {"error": "invalid cursor"}, headers)
            position, issued = parsed
            if refuse or time.time() - issued > a.cursor_ttl:
                src.count("cursors_refused")
                return self.send_json(400, {"error": "cursor expired"}, headers)
        elif "after" in query:
            try:
                position = int(query["after"][0].split("_")[-1]) + 1
            except ValueError:
                return self.send_json(400, {"error": "after must be an event id"}, headers)
        # Disjoint partitions (partition=i&partitions=n): the records whose index is i mod n.
        try:
            parts = int(query.get("partitions", ["1"])[0])
            part = int(query.get("partition", ["0"])[0])
        except ValueError:
            return self.send_json(400, {"error": "partition and partitions must be numbers"}, headers)
        if parts < 1 or not 0 <= part < parts:
            return self.send_json(400, {"error": "partition must be in [0, partitions)"}, headers)
        first = position + (part - position) % parts
        indexes = range(first, a.events, parts)[:limit]
        records = [src.record(i) for i in indexes]
        end = indexes[-1] + 1 if records else a.events
        page = src.stats["pages"]
        src.count("pages")
        src.count("records", len(records))
        more = end < a.events and (end + (part - end) % parts) < a.events
        # Every 7th page's cursor starts 2 records early: they come again.
        following = end - 2 * parts if more and page % 7 == 3 and len(records) > 2 else end
        self.send_json(200, {"data": records, "pagination": {
            "hasMore": more, "nextCursor": src.cursor(following) if more else None,
            "total": a.events, "cursorTtl": a.cursor_ttl}}, headers)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--events", type=int, default=10_000)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--projects", type=int, default=20)
    p.add_argument("--rate", type=int, default=50, help="requests per window")
    p.add_argument("--window", type=float, default=1.0, help="seconds")
    p.add_argument("--header-style", choices=["x", "ietf", "none"], default="x")
    p.add_argument("--page-cap", type=int, default=500)
    p.add_argument("--cursor-ttl", type=float, default=60)
    p.add_argument("--refuse-cursor-every", type=int, default=0)
    p.add_argument("--malformed-every", type=int, default=0)
    p.add_argument("--error-every", type=int, default=0)
    p.add_argument("--slow-every", type=int, default=0)
    p.add_argument("--slow-seconds", type=float, default=1.0)
    p.add_argument("--api-key", default="")
    args = p.parse_args()
    Handler.source = Source(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"event source on http://127.0.0.1:{port}/events", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
