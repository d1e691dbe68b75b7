"""The admin API of the real binary, checked against openapi.yaml: every
documented operation is called and must answer a documented status; errors
are JSON; tokens are enforced; private fields stay private."""
import json
import os
import socket
import subprocess
import urllib.error
import urllib.request

import jsonschema
import pytest
import yaml

from conftest import BINARY, Service, TOKEN, wait_until

ADMIN = "test-admin-token"
SPEC = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "..", "..", "openapi.yaml")))


def resolved(node):
    """`node` with every `$ref` into this spec replaced by what it names."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = SPEC
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolved(target)
        return {key: resolved(value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolved(value) for value in node]
    return node


def body_schema(operation, status):
    """The JSON schema documented for `status`, or None (not JSON)."""
    response = resolved(operation["responses"][str(status)])
    return response.get("content", {}).get("application/json", {}).get("schema")


def call(service, method, path, token=None, body=None):
    """(status, parsed JSON or None, headers) for one request."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(service.url + path, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text, headers = response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        status, text, headers = error.code, error.read().decode(), error.headers
    try:
        parsed = json.loads(text) if text else None
    except json.JSONDecodeError:
        parsed = None
    return status, parsed, headers


@pytest.fixture
def admin_service():
    s = Service(extra_args=("--admin-token", ADMIN))
    yield s
    s.stop()


def test_every_documented_operation_answers_a_documented_status(admin_service):
    validated = []
    for path, operations in SPEC["paths"].items():
        if path == "/ws":
            continue  # the upgrade is covered by the realtime tests
        for method, operation in operations.items():
            documented = set(operation["responses"])
            concrete = path.replace("{id}", "999999")
            query = {"/api/search": "?index=projects&q=anything"}.get(path, "")
            token = ADMIN if operation.get("security") else None
            body = {"entity": "projects"} if path == "/api/reindex" and method == "post" else None
            status, parsed, _ = call(admin_service, method.upper(), concrete + query, token=token, body=body)
            if path in ("/metrics", "/", "/dashboard.css", "/dashboard.js"):
                assert status == 200
                continue  # text, parsed by test_metrics.py; the dashboard's files, driven by test_dashboard.py
            assert str(status) in documented, f"{method.upper()} {path} answered {status} ({parsed}), documented {sorted(documented)}"
            if status >= 400:
                assert set(parsed) >= {"error", "status"} and parsed["status"] == status, parsed
            schema = body_schema(operation, status)
            assert schema is not None or parsed is None, f"{method.upper()} {path} {status} answers JSON that openapi.yaml gives no schema"
            if schema is not None:
                try:
                    jsonschema.validate(parsed, schema)
                except jsonschema.ValidationError as error:
                    pytest.fail(f"{method.upper()} {path} {status}: the body does not match openapi.yaml: {error.message} at {list(error.absolute_path)}")
                validated.append(f"{method.upper()} {path} {status}")
    assert len(validated) >= 14, validated


def test_routes_that_are_not_documented_do_not_exist(admin_service):
    status, parsed, _ = call(admin_service, "GET", "/api/nothing-here")
    assert status == 404 and "no route" in parsed["error"]
    status, parsed, _ = call(admin_service, "DELETE", "/api/status")
    assert status == 405 and parsed["status"] == 405


def test_status_reports_every_documented_field_and_follows_the_sync(admin_service):
    schema = SPEC["components"]["schemas"]["Status"]
    admin_service.sql("INSERT INTO users (username, email, name) VALUES ('ada', 'ada@example.org', 'Ada')")
    status = wait_until(lambda: (lambda s: s if s["capture"]["backlog"] == 0 and s["sync"]["changes_synced"] >= 1 else None)(
        call(admin_service, "GET", "/api/status")[1]))
    assert set(schema["required"]) <= set(status)
    for section in ("capture", "sync", "elasticsearch", "web_socket"):
        assert set(schema["properties"][section].get("required", [])) <= set(status[section]), section
    assert status["capture"]["latest_seq"] >= 1 and status["capture"]["listening"] is True
    assert status["sync"]["circuit"] == "closed" and status["sync"]["batch_limit"] == 2000
    assert status["elasticsearch"]["reachable"] is True
    assert status["lag"]["p50_seconds"] is not None and status["lag"]["p50_seconds"] <= status["lag"]["p99_seconds"]
    assert status["dead_letters"] == 0


def test_changes_lists_recent_rows_with_their_state(admin_service):
    admin_service.sql("INSERT INTO users (username, email) VALUES ('u1', 'u1@example.org'), ('u2', 'u2@example.org')")
    admin_service.sql("UPDATE users SET name = 'Renamed' WHERE username = 'u1'")
    changes = wait_until(lambda: (lambda c: c if c and all(x["state"] == "synced" for x in c) else None)(
        call(admin_service, "GET", "/api/changes?limit=2")[1]))
    assert len(changes) == 2
    assert changes[0]["seq"] > changes[1]["seq"], "newest first"
    assert changes[0]["table"] == "users" and changes[0]["operation"] == "update" and "name" in changes[0]["columns"]
    for bad in ("0", "abc", "1001"):
        status, parsed, _ = call(admin_service, "GET", f"/api/changes?limit={bad}")
        assert status == 400 and "limit" in parsed["error"], bad


def test_search_passes_through_and_keeps_email_private(admin_service):
    admin_service.sql("INSERT INTO users (username, email, name, bio) VALUES ('grace', 'ghopper1906@navy.mil', 'Grace Hopper', 'compilers')")
    hit = wait_until(lambda: call(admin_service, "GET", "/api/search?index=users&q=compilers")[1]["hits"])
    assert hit[0]["document"]["username"] == "grace"
    assert "email" not in hit[0]["document"], "no e-mail without the private token"
    _, private, _ = call(admin_service, "GET", "/api/search?index=users&q=compilers", token=TOKEN)
    assert private["hits"][0]["document"]["email"] == "ghopper1906@navy.mil"
    _, by_email, _ = call(admin_service, "GET", "/api/search?index=users&q=ghopper1906")
    assert by_email["hits"] == [], "e-mail is not searchable without the token"
    status, parsed, _ = call(admin_service, "GET", "/api/search?index=secrets&q=x")
    assert status == 400 and "index" in parsed["error"]


def test_mutations_need_the_admin_token(admin_service):
    status, parsed, headers = call(admin_service, "POST", "/api/dlq/1/retry")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    status, parsed, _ = call(admin_service, "POST", "/api/dlq/1/retry", token="wrong")
    assert status == 403 and "wrong" in parsed["error"]
    status, parsed, _ = call(admin_service, "POST", "/api/dlq/1/retry", token=ADMIN)
    assert status == 404
    status, parsed, _ = call(admin_service, "GET", "/api/dlq/1")
    assert status == 401, "one entry carries the whole document: token required"
    status, parsed, _ = call(admin_service, "GET", "/api/dlq/abc", token=ADMIN)
    assert status == 400 and "positive integer" in parsed["error"]
    status, parsed, _ = call(admin_service, "POST", "/api/reindex", token=ADMIN, body={"entity": "nope"})
    assert status == 400


def test_without_an_admin_token_configured_mutations_are_refused(service):
    status, parsed, _ = call(service, "POST", "/api/reconcile", token="anything")
    assert status == 403 and "HACKSYNC_ADMIN_TOKEN" in parsed["error"]


def test_readyz_names_an_unreachable_elasticsearch():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    service = Service(elasticsearch_url=f"http://127.0.0.1:{closed_port}", require_healthy=False)
    try:
        status, parsed, _ = call(service, "GET", "/readyz")
        assert status == 503 and parsed["ready"] is False
        assert any("Elasticsearch" in reason for reason in parsed["reasons"]), parsed
        status, body, _ = call(service, "GET", "/api/status")
        assert status == 200 and body["elasticsearch"]["reachable"] is False and body["capture"]["listening"] is True
    finally:
        service.stop()


def test_hacksync_status_prints_one_screen(admin_service):
    status = wait_until(lambda: call(admin_service, "GET", "/readyz")[0] == 200)
    assert status
    out = subprocess.run([BINARY, "status", "--url", admin_service.url], check=True, capture_output=True, text=True).stdout
    for label in ("capture", "sync", "lag", "elasticsearch", "dead letters", "websocket"):
        assert label in out, out
    assert "reachable" in out
