"""Fixtures for the realtime tests: a fresh database, the real `hacksync serve`
binary, and the independent `websockets` client (not our own WebSocket code)."""
import json
import os
import random
import re
import socket
import subprocess
import time
import urllib.request
from urllib.parse import urlparse, urlunparse

import pytest

BINARY = os.environ.get("HACKSYNC_TEST_BINARY")
DATABASE_URL = os.environ.get("HACKSYNC_TEST_DATABASE_URL")
ELASTICSEARCH_URL = os.environ.get("HACKSYNC_TEST_ELASTICSEARCH_URL")
TOKEN = "test-private-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(url, sql):
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtX", "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


class Service:
    """`hacksync serve` on a database of its own, or with `peer_of`, a second
    instance of the same deployment (same database and indexes)."""

    def __init__(self, extra_args=(), elasticsearch_url=None, require_healthy=True, db_password=None, env=None,
                 peer_of=None):
        if not (BINARY and DATABASE_URL and ELASTICSEARCH_URL):
            pytest.fail("run through `make test` (HACKSYNC_TEST_* variables are missing)")
        self.owns_database = peer_of is None
        self.extra_env = env or {}
        self.port = 0  # the first start binds any free port and logs it; restarts reuse it
        if peer_of:
            self.db_name, self.db_url, self.prefix = peer_of.db_name, peer_of.db_url, peer_of.prefix
            log_name = f"/tmp/hacksync-{self.db_name}-peer-%x.log" % random.getrandbits(32)
        else:
            suffix = "%x" % random.getrandbits(48)
            self.db_name = "hs_py_" + suffix
            psql(DATABASE_URL, f"CREATE DATABASE {self.db_name}")
            parts = urlparse(DATABASE_URL)
            self.db_url = urlunparse(parts._replace(path="/" + self.db_name))
            if db_password:  # trust authentication ignores it; the logs must not show it either way
                netloc = parts.netloc.split("@")[-1]
                user = (parts.username or "postgres")
                self.db_url = urlunparse(parts._replace(path="/" + self.db_name, netloc=f"{user}:{db_password}@{netloc}"))
            subprocess.run([BINARY, "migrate", "--database-url", self.db_url], check=True, capture_output=True)
            self.prefix = "py" + suffix + "_"
            log_name = f"/tmp/hacksync-{self.db_name}.log"
        self.log = open(log_name, "w")
        self.extra_args = extra_args
        self.elasticsearch_url = elasticsearch_url or ELASTICSEARCH_URL
        self.require_healthy = require_healthy
        self.start()

    def start(self):
        env = dict(os.environ, HACKSYNC_PRIVATE_TOKEN=TOKEN, **self.extra_env)
        self.log.flush()
        offset = os.path.getsize(self.log.name)  # a restart appends: look only at its own lines
        self.process = subprocess.Popen(
            [BINARY, "serve", "--database-url", self.db_url, "--elasticsearch-url", self.elasticsearch_url,
             "--listen", f"127.0.0.1:{self.port}", "--index-prefix", self.prefix, "--catch-up-interval", "0.2",
             *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.process.poll() is not None:
                break
            with open(self.log.name) as log:
                log.seek(offset)
                bound = re.search(r'http\.address(?:=|":")127\.0\.0\.1:(\d+)', log.read())  # text or JSON lines
            if not bound:
                time.sleep(0.05)
                continue
            self.port = int(bound.group(1))
            if not self.require_healthy:
                return  # it listens: that is all an unhealthy-on-purpose test needs
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=5) as r:
                    if r.status == 200:
                        return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("hacksync did not become healthy: " + open(self.log.name).read()[-2000:])

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    def sql(self, statement):
        return psql(self.db_url, statement)

    def restart(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.start()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        if self.owns_database:
            psql(DATABASE_URL, f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
        os.environ.get("KEEP_LOGS") or os.unlink(self.log.name)  # KEEP_LOGS=1: keep them to debug a failure

    def status(self):
        with urllib.request.urlopen(f"{self.url}/api/status", timeout=5) as r:
            return json.loads(r.read())

    def logged(self):
        with open(self.log.name) as log:
            return log.read()


@pytest.fixture
def service():
    s = Service()
    yield s
    s.stop()


@pytest.fixture
def slow_service():
    s = Service(extra_args=("--ws-queue-limit", "20"))
    yield s
    s.stop()


def wait_until(predicate, timeout=20, what="condition", interval=0.1):
    """Polls `predicate` until it returns something truthy, and returns that."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


async def receive_json(ws, timeout=15):
    import asyncio
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def subscribe(ws, **request):
    await ws.send(json.dumps({"type": "subscribe", **request}))
    reply = await receive_json(ws)
    assert reply["type"] == "subscribed", reply
    return reply


async def events_until(ws, predicate, timeout=20):
    """Collects events until one satisfies `predicate`."""
    import asyncio
    collected = []
    deadline = asyncio.get_event_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_event_loop().time()
        assert remaining > 0, f"timed out; got {collected}"
        message = await receive_json(ws, remaining)
        collected.append(message)
        if predicate(message):
            return collected
