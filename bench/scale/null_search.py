#!/usr/bin/env python3
"""A search server that accepts every write and keeps none: the Elasticsearch
REST calls an index build makes (aliases, index create/delete, _bulk,
_refresh, _count, _mapping), answered from a few dictionaries. For benchmarks only:
it takes the search cluster out of a measurement, so that what HackSync and
Postgres can do shows on its own (scripts/bench-scale.sh). Loopback only.

Usage: null_search.py PORT
"""
import json
import re
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
indexes = {}   # name -> ids of the documents it holds (nothing else is kept)
aliases = {}   # alias -> set of index names
mappings = {}  # index -> its mapping (the index guard compares it with the declarations)


def resolve(name):
    return aliases.get(name) or ({name} if name in indexes else set())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out as separate writes: without this, Nagle's
        # algorithm and the client's delayed ACK hold every reply ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reply(self, status, body=None):
        data = json.dumps(body if body is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def missing(self, name):
        self.reply(404, {"error": {"type": "index_not_found_exception", "reason": f"no such index [{name}]"}, "status": 404})

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_HEAD(self):
        name = self.path.strip("/").split("?")[0]
        self.reply(200) if resolve(name) else self.missing(name)

    def do_GET(self):
        path = self.path.split("?")[0]
        with lock:
            if path == "/":
                return self.reply(200, {"version": {"number": "8.0.0-null"}, "tagline": "You Know, for Search"})
            if path == "/_cluster/health":
                return self.reply(200, {"status": "green"})
            if m := re.fullmatch(r"/_alias/([^/]+)", path):
                targets = aliases.get(m.group(1))
                if not targets:
                    return self.reply(404, {"error": "alias [%s] missing" % m.group(1), "status": 404})
                return self.reply(200, {index: {"aliases": {m.group(1): {}}} for index in targets})
            if m := re.fullmatch(r"/([^/]*)\*/_settings", path):
                return self.reply(200, {i: {"settings": {}} for i in indexes if i.startswith(m.group(1))})
            if m := re.fullmatch(r"/([^/]+)/_mapping", path):
                targets = resolve(m.group(1))
                if not targets:
                    return self.missing(m.group(1))
                return self.reply(200, {i: {"mappings": mappings.get(i, {})} for i in targets})
            if m := re.fullmatch(r"/([^/]+)/_count", path):
                targets = resolve(m.group(1))
                if not targets:
                    return self.missing(m.group(1))
                return self.reply(200, {"count": sum(len(indexes[i]) for i in targets)})
        self.reply(400, {"error": f"null search server: GET {path} is not implemented", "status": 400})

    def do_PUT(self):
        body = json.loads(self.body() or b"{}")
        name = self.path.strip("/").split("?")[0]
        with lock:
            if name.endswith("/_mapping"):
                index = name.rsplit("/", 1)[0]
                if index not in indexes:
                    return self.missing(index)
                mappings.setdefault(index, {}).setdefault("properties", {}).update(body.get("properties", {}))
                return self.reply(200, {"acknowledged": True})
            indexes.setdefault(name, set())
            mappings[name] = body.get("mappings", {})
        self.reply(200, {"acknowledged": True, "index": name})

    def do_DELETE(self):
        name = self.path.strip("/").split("?")[0]
        with lock:
            if name not in indexes:
                return self.missing(name)
            del indexes[name]
            mappings.pop(name, None)
            for targets in aliases.values():
                targets.discard(name)
        self.reply(200, {"acknowledged": True})

    def do_POST(self):
        path = self.path.split("?")[0]
        body = self.body()
        if path == "/_aliases":
            with lock:
                for action in json.loads(body)["actions"]:
                    (kind, spec), = action.items()
                    targets = aliases.setdefault(spec["alias"], set())
                    (targets.add if kind == "add" else targets.discard)(spec["index"])
            return self.reply(200, {"acknowledged": True})
        if path.endswith("/_refresh"):
            return self.reply(200, {"_shards": {"total": 1, "successful": 1, "failed": 0}})
        if path == "/_bulk":
            return self.bulk(body)
        self.reply(400, {"error": f"null search server: POST {path} is not implemented", "status": 400})

    def bulk(self, body):
        # Only the action lines are looked at, with a regular expression: a
        # benchmark's sink must cost far less than the service it measures.
        items = []
        lines = body.split(b"\n")
        i = 0
        with lock:
            while i < len(lines):
                line = lines[i]
                m = ACTION.match(line)
                if not m:
                    i += 1
                    continue
                kind, name, doc_id = m.group(1).decode(), m.group(2).decode(), m.group(3).decode()
                targets = resolve(name)
                if not targets:
                    items.append('{"%s":{"_index":"%s","_id":"%s","status":404,"error":{"type":"index_not_found_exception","reason":"no such index"}}}'
                                 % (kind, name, doc_id))
                else:
                    index = min(targets)
                    (indexes[index].add if kind == "index" else indexes[index].discard)(doc_id)
                    items.append('{"%s":{"_index":"%s","_id":"%s","status":%d,"result":"%s"}}'
                                 % (kind, index, doc_id, 201 if kind == "index" else 200, "created" if kind == "index" else "deleted"))
                i += 2 if kind == "index" else 1
        data = ('{"took":0,"errors":false,"items":[' + ",".join(items) + "]}").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# {"index":{"_index":"users_v1","_id":"42",...}} or {"delete":{...}}: what HackSync sends.
ACTION = re.compile(rb'\{"(index|delete)":\{"_index":"([^"]+)","_id":"([^"]+)"')


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
