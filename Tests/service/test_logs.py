"""`--log-format json`: one JSON object per line, request ids and change-log
sequence numbers as keys, and never a password or token."""
import json
import time
import urllib.request

from conftest import TOKEN, Service

DB_PASSWORD = "db-pass-7f3a9c"
ADMIN_TOKEN = "admin-token-51d2e8"


def request(url, method="GET", headers=None):
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as response:
        return response.status, dict(response.headers)


def test_json_logs_carry_request_ids_and_seqs_and_no_secrets():
    service = Service(extra_args=("--log-format", "json", "--log-level", "debug"),
                      db_password=DB_PASSWORD, env={"HACKSYNC_ADMIN_TOKEN": ADMIN_TOKEN})
    try:
        status, headers = request(service.url + "/api/dlq/retry-all", "POST",
                                  {"Authorization": "Bearer " + ADMIN_TOKEN, "X-Request-Id": "test-req-1"})
        assert status == 202 and headers["X-Request-Id"] == "test-req-1"
        _, headers = request(service.url + f"/api/search?index=users&q=ada&token={TOKEN}")
        assert len(headers["X-Request-Id"]) > 0  # a fresh id when the client sends none
        service.sql("INSERT INTO users (username, email, name) VALUES ('ada', 'ada@example.com', 'Ada')")
        deadline = time.time() + 20
        while time.time() < deadline and '"batch synced"' not in open(service.log.name).read():
            time.sleep(0.2)
    finally:
        service.process.terminate()
        service.process.wait(timeout=10)
        text = open(service.log.name).read()
        service.stop()

    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    assert all({"ts", "level", "logger", "message"} <= set(line) for line in lines)
    admin = [line for line in lines if line.get("request_id") == "test-req-1"]
    assert admin, f"no line with request_id test-req-1; the log ends: {text[-3000:]}"
    assert admin[0]["http.path"] == "/api/dlq/retry-all" and admin[0]["http.status"] == "202"
    synced = [line for line in lines if line["message"] == "batch synced"]
    assert synced and all("seq" in line for line in synced)
    assert any(line["message"] == "created search index" and line["index"].startswith(service.prefix) for line in lines)
    for secret in (DB_PASSWORD, ADMIN_TOKEN, TOKEN):
        assert secret not in text, f"{secret} leaked into the log"
    assert any("***" in line.get("pg.url", "") for line in lines)
