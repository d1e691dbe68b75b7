"""The claims of docs/security.md that no other test makes: the dashboard's
headers, browser origins on /ws, hostile text in every parameter that
reaches SQL or the search server, and the private token on /api/search."""
import http.client
import json
import urllib.parse

import pytest
import websockets

from conftest import Service, TOKEN

ALLOWED_ORIGIN = "https://dashboard.example"
ADMIN_TOKEN = "security-admin-token"
HOSTILE = ["'; DROP TABLE users; --", "\" OR 1=1 --", "$1", "\\x00", "%00", "\u0000", "*:*", "{\"match_all\":{}}", "🙂" * 100]


@pytest.fixture(scope="module")
def guarded():
    s = Service(extra_args=("--allowed-origins", ALLOWED_ORIGIN, "--admin-token", ADMIN_TOKEN))
    yield s
    s.stop()


def get(service, path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, response, body


def test_the_dashboard_runs_only_its_own_scripts(guarded):
    for path in ["/", "/dashboard.js", "/dashboard.css"]:
        status, response, _ = get(guarded, path)
        assert status == 200
        csp = response.getheader("Content-Security-Policy")
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.getheader("X-Content-Type-Options") == "nosniff"


def test_a_browser_from_another_origin_cannot_open_the_stream(guarded):
    async def attempt(origin):
        async with websockets.connect(guarded.ws, origin=origin) as ws:
            await ws.send(json.dumps({"type": "subscribe", "channel": "users"}))
            return json.loads(await ws.recv())["type"]
    import asyncio
    assert asyncio.run(attempt(ALLOWED_ORIGIN)) == "subscribed"
    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(attempt("https://evil.example"))
    assert refused.value.response.status_code == 403


def test_hostile_text_in_parameters_is_data_not_sql(guarded):
    guarded.sql("INSERT INTO users (username, email, name) VALUES ('ada', 'ada@example.com', 'Ada')")
    for text in HOSTILE:
        quoted = urllib.parse.quote(text)
        for path in [f"/api/search?index=users&q={quoted}", f"/api/dlq/{quoted}", f"/api/changes?limit={quoted}",
                     f"/api/wait?xid={quoted}", f"/api/dlq?all={quoted}", f"/api/search?index={quoted}"]:
            status, _, body = get(guarded, path, {"Authorization": f"Bearer {ADMIN_TOKEN}"})
            assert status in (200, 400, 404), (path, status, body)
            assert "error" in json.loads(body) or status == 200
    assert guarded.sql("SELECT count(*) FROM users") == "1", "the users table is intact"


def test_search_shows_email_only_with_the_private_token(guarded):
    guarded.sql("INSERT INTO users (username, email, name) VALUES ('grace', 'grace@example.com', 'Grace')")
    import time
    deadline = time.time() + 20
    while True:
        _, _, body = get(guarded, "/api/search?index=users&q=grace")
        hits = json.loads(body)["hits"]
        if hits or time.time() > deadline:
            break
        time.sleep(0.2)
    assert hits and "email" not in hits[0]["document"]
    _, _, body = get(guarded, "/api/search?index=users&q=grace", {"Authorization": f"Bearer {TOKEN}"})
    assert json.loads(body)["hits"][0]["document"]["email"] == "grace@example.com"
    _, _, body = get(guarded, "/api/search?index=users&q=grace", {"Authorization": "Bearer wrong-token"})
    assert "email" not in json.loads(body)["hits"][0]["document"]


def test_the_search_servers_password_given_as_a_flag_never_reaches_the_log():
    from conftest import ELASTICSEARCH_URL
    parts = urllib.parse.urlparse(ELASTICSEARCH_URL)
    secret = "s3cret-es-password"
    with_password = parts._replace(netloc=f"elastic:{secret}@{parts.netloc}").geturl()
    service = Service(elasticsearch_url=with_password, extra_args=("--log-level", "debug"))
    try:
        service.sql("INSERT INTO users (username, email, name) VALUES ('lin', 'lin@example.com', 'Lin')")
        get(service, "/api/search?index=users&q=lin")
        get(service, "/readyz")
        text = service.logged()
    finally:
        service.stop()
    assert "starting hacksync" in text
    assert secret not in text
