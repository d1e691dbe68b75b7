"""A Postgres backend that hangs (SIGSTOP: its socket stays open, so TCP
keepalives see nothing wrong) fails the endpoint that waits on it after the
query timeout, and the next request gets a new connection: before, /readyz
and /api/status stalled for ~25 s, until the keepalives gave up."""
import json
import os
import signal
import time
import urllib.error
import urllib.request


def get(url):
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, json.loads(r.read()), time.monotonic() - started
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), time.monotonic() - started


def test_a_hung_admin_connection_fails_readiness_in_seconds_and_is_replaced(service):
    assert get(f"{service.url}/readyz")[0] == 200  # the admin connection is open
    pids = service.sql("SELECT string_agg(pid::text, ',') FROM pg_stat_activity "
                       "WHERE datname = current_database() AND application_name = 'hacksync-admin'")
    frozen = [int(p) for p in pids.split(",")]
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        status, body, waited = get(f"{service.url}/readyz")
        assert status == 503
        assert any("timeout" in reason for reason in body["reasons"]), body
        assert waited < 10, f"/readyz took {waited:.1f} s on a hung connection"
        print(f"/readyz on a hung Postgres connection: 503 after {waited:.2f} s")

        status, body, waited = get(f"{service.url}/readyz")
        assert status == 200, body
        status, body, _ = get(f"{service.url}/api/status")
        assert status == 200 and "error" not in body["capture"], body
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
