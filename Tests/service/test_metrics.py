"""GET /metrics of the real binary, parsed by an independent parser
(prometheus_client), with values that must follow what the sync did."""
import asyncio
import time
import urllib.request

import websockets
from prometheus_client.parser import text_string_to_metric_families

from conftest import events_until, subscribe

REQUIRED = {
    "hacksync_changes_captured": "counter",
    "hacksync_docs_synced": "counter",
    "hacksync_sync_errors": "counter",
    "hacksync_sync_lag_seconds": "histogram",
    "hacksync_backlog_changes": "gauge",
    "hacksync_dlq_entries": "gauge",
    "hacksync_ws_connections": "gauge",
    "hacksync_ws_messages_sent": "counter",
    "hacksync_es_bulk_seconds": "histogram",
    "hacksync_leader": "gauge",
    "hacksync_realtime_fanout_seconds": "histogram",
}


def scrape(service):
    with urllib.request.urlopen(service.url + "/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(families, name, suffix="", **labels):
    for s in families[name].samples:
        if s.name == name + suffix and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def test_metrics_are_exposed_and_follow_the_sync(service):
    before = scrape(service)
    for name, kind in REQUIRED.items():
        assert name in before, f"{name} missing; have {sorted(before)}"
        assert before[name].type == kind, (name, before[name].type)

    service.sql("INSERT INTO users (username, email) SELECT 'm' || i, 'm' || i || '@example.org' FROM generate_series(1, 5) i")
    service.sql("DELETE FROM users WHERE username = 'm5'")
    deadline = time.time() + 20
    while True:
        after = scrape(service)
        if (sample(after, "hacksync_docs_synced", "_total", index="users", op="delete") or 0) >= 1:
            break
        assert time.time() < deadline, "the delete never showed in hacksync_docs_synced_total"
        time.sleep(0.2)
    assert sample(after, "hacksync_changes_captured", "_total") >= 2
    assert sample(after, "hacksync_docs_synced", "_total", index="users", op="index") >= 5
    assert sample(after, "hacksync_backlog_changes") == 0
    assert sample(after, "hacksync_dlq_entries") == 0
    assert sample(after, "hacksync_leader") == 1, "a lone instance leads"
    assert sample(after, "hacksync_sync_lag_seconds", "_count") >= 1
    assert sample(after, "hacksync_es_bulk_seconds", "_count") >= 1
    buckets = [s for s in after["hacksync_sync_lag_seconds"].samples if s.name.endswith("_bucket")]
    assert buckets and buckets[-1].labels["le"] == "+Inf"
    assert buckets[-1].value == sample(after, "hacksync_sync_lag_seconds", "_count")


def test_the_fan_out_histogram_counts_publishes_that_reached_a_subscriber(service):
    """publish → every frame handed to its socket: recorded once for the
    publish that reached the subscriber, not for events nobody subscribed to
    (a hackathon committed just before, so published before it)."""
    before = sample(scrape(service), "hacksync_realtime_fanout_seconds", "_count")

    async def scenario():
        async with websockets.connect(service.ws) as ws:
            await subscribe(ws, channel="users")
            service.sql("INSERT INTO hackathons (name) VALUES ('nobody listens')")
            service.sql("INSERT INTO users (username, email) VALUES ('fanout', 'fanout@example.org')")
            await events_until(ws, lambda m: m.get("type") == "event")
    asyncio.run(scenario())
    deadline = time.time() + 10
    while sample(scrape(service), "hacksync_realtime_fanout_seconds", "_count") < before + 1:
        assert time.time() < deadline, "the delivered event was not timed"
        time.sleep(0.1)
    families = scrape(service)
    assert sample(families, "hacksync_realtime_fanout_seconds", "_count") == before + 1
    assert 0 < sample(families, "hacksync_realtime_fanout_seconds", "_sum") < 10
