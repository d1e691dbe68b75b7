"""One document larger than the cluster takes: a one-document bulk request
still answered 413 cannot be made smaller, so the live sync parks the
document in the dead-letter table with the reason (instead of probing it
forever) and everything else keeps syncing; an index build does the same."""
import json
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import BINARY, ELASTICSEARCH_URL, Service, wait_until
from size_limit_proxy import SizeLimitProxy

MAX_BODY = 64 * 1024


def indexed(index, doc_id):
    urllib.request.urlopen(urllib.request.Request(f"{ELASTICSEARCH_URL}/{index}/_refresh", method="POST"), timeout=10).read()
    try:
        with urllib.request.urlopen(f"{ELASTICSEARCH_URL}/{index}/_doc/{doc_id}", timeout=10) as r:
            return json.loads(r.read())["_source"]
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


@pytest.fixture
def behind_proxy():
    proxy = SizeLimitProxy(ELASTICSEARCH_URL, MAX_BODY)
    service = Service(elasticsearch_url=proxy.url)
    yield service, proxy
    service.stop()
    proxy.close()


def test_a_document_past_the_clusters_limit_is_dead_lettered_and_the_rest_syncs(behind_proxy):
    service, proxy = behind_proxy
    hackathon = service.sql("INSERT INTO hackathons (name) VALUES ('Big Hack') RETURNING id")
    big = service.sql(f"INSERT INTO projects (hackathon_id, name, description) VALUES ({hackathon}, 'huge', repeat('x', 200000)) RETURNING id")
    small = service.sql(f"INSERT INTO projects (hackathon_id, name) VALUES ({hackathon}, 'small') RETURNING id")

    parked = wait_until(lambda: service.sql(
        f"SELECT error_type || '|' || error_reason FROM sync.dead_letters WHERE entity = 'projects' AND doc_id = {big}"))
    error_type, reason = parked.split("|", 1)
    assert error_type == "request_too_large"
    assert "413" in reason and "http.max_content_length" in reason
    wait_until(lambda: indexed(f"{service.prefix}projects", small))
    assert indexed(f"{service.prefix}projects", big) is None
    wait_until(lambda: service.sql("SELECT count(*) FROM sync.changes WHERE processed_at IS NULL") == "0")

    # Parked, not probed forever: the 413s stop once the document is in the table.
    # (The rebuild the service starts on its empty indexes may meet the document
    # too, and parks it the same way: count from when no index job runs.)
    wait_until(lambda: service.sql("SELECT count(*) FROM sync.index_jobs WHERE finished_at IS NULL") == "0",
               what="the start-up index jobs to finish")
    refused = proxy.refused
    later = service.sql(f"INSERT INTO projects (hackathon_id, name) VALUES ({hackathon}, 'later') RETURNING id")
    wait_until(lambda: indexed(f"{service.prefix}projects", later))
    time.sleep(1)
    assert proxy.refused == refused
    assert service.status()["dead_letters"] == 1

    # An index build parks it the same way and finishes.
    build = subprocess.run(
        [BINARY, "reindex", "--entity", "projects", "--database-url", service.db_url,
         "--elasticsearch-url", proxy.url, "--index-prefix", service.prefix],
        capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stdout + build.stderr
    assert indexed(f"{service.prefix}projects", small) is not None
    assert indexed(f"{service.prefix}projects", big) is None
    assert service.sql(f"SELECT count(*) FROM sync.dead_letters WHERE doc_id = {big} AND resolved_at IS NULL") == "1"

    # Made smaller, it syncs and its dead letter is resolved.
    service.sql(f"UPDATE projects SET description = 'trimmed' WHERE id = {big}")
    wait_until(lambda: indexed(f"{service.prefix}projects", big))
    wait_until(lambda: service.sql(f"SELECT resolution FROM sync.dead_letters WHERE doc_id = {big}") == "synced")
