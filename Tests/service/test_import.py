"""`hacksync import events` against the event source simulator
(scripts/event_source.py) and the real Postgres and search server: exactly
once across kill -9, expired cursors recovered, the rate limit kept, bad
records dead-lettered, and the imported activity in the search documents."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import BINARY, ELASTICSEARCH_URL, Service, wait_until

SIMULATOR = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "event_source.py")
USERS, PROJECTS = 40, 15


class EventSource:
    def __init__(self, tmp_path, *args):
        port_file = tmp_path / ("source-port-%d" % time.monotonic_ns())
        self.process = subprocess.Popen([sys.executable, SIMULATOR, "--port-file", str(port_file),
                                         "--users", str(USERS), "--projects", str(PROJECTS), *map(str, args)],
                                        stderr=subprocess.DEVNULL)
        wait_until(lambda: port_file.exists(), what="the event source listening")
        self.url = "http://127.0.0.1:%s/events" % port_file.read_text()

    def get(self, path):
        with urllib.request.urlopen(self.url.replace("/events", path), timeout=10) as r:
            return json.loads(r.read())

    def stop(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture
def platform():
    """A service (it syncs the documents) on a database with the users and projects the events name."""
    service = Service()
    service.sql("INSERT INTO hackathons (id, name) VALUES (1, 'Imports');"
                f"INSERT INTO users (id, username, email) SELECT g, 'user' || g, 'u' || g || '@example.com' FROM generate_series(1, {USERS}) g;"
                f"INSERT INTO projects (id, hackathon_id, name) SELECT g, 1, 'project ' || g FROM generate_series(1, {PROJECTS}) g;"
                "SELECT setval(pg_get_serial_sequence('users', 'id'), 1000); SELECT setval(pg_get_serial_sequence('projects', 'id'), 1000)")
    yield service
    service.stop()


@pytest.fixture
def sources(tmp_path):
    started = []
    yield lambda *args: started.append(EventSource(tmp_path, *args)) or started[-1]
    for source in started:
        source.stop()


def import_command(service, source, *args):
    return [BINARY, "import", "events", "--database-url", service.db_url, "--source", source.url, "--name", "test", *args]


def run_import(service, source, *args, timeout=120):
    done = subprocess.run(import_command(service, source, *args), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def imported_ids(service):
    return service.sql("SELECT string_agg(id, ',' ORDER BY id) FROM activity_events").split(",")


def checkpoint(service, column):
    return service.sql(f"SELECT {column} FROM sync.imports WHERE name = 'test'")


def test_kill_9_at_any_moment_then_rerun_imports_every_id_exactly_once(platform, sources):
    source = sources("--events", 24000, "--page-cap", 400, "--rate", 20, "--window", 1)
    expected = source.get("/_expected")
    for kill_after_pages in (6, 19, 33):
        importer = subprocess.Popen(import_command(platform, source, "--quiet"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: int(checkpoint(platform, "pages") or 0) >= kill_after_pages, timeout=30, what="pages committed")
        importer.send_signal(signal.SIGKILL)
        importer.wait()
        # What the checkpoint says is in is exactly what is in.
        assert int(checkpoint(platform, "inserted")) == int(platform.sql("SELECT count(*) FROM activity_events"))
        status = subprocess.run([BINARY, "import", "status", "--json", "--database-url", platform.db_url],
                                capture_output=True, text=True, check=True)
        assert json.loads(status.stdout)[0]["state"] == "interrupted"
    done = run_import(platform, source)
    assert "finished" in done.stdout
    assert imported_ids(platform) == expected
    assert int(checkpoint(platform, "inserted")) == len(expected)
    assert int(checkpoint(platform, "duplicates")) > 0  # records sent twice across pages were absorbed
    assert checkpoint(platform, "state") == "finished"
    # Finished: a rerun changes nothing.
    again = run_import(platform, source)
    assert "finished" in again.stdout and imported_ids(platform) == expected


def test_partitions_read_in_parallel_share_one_pace_and_resume_after_kill_9(platform, sources):
    source = sources("--events", 12000, "--page-cap", 300, "--rate", 12, "--window", 1)
    command = [BINARY, "import", "events", "--database-url", platform.db_url, "--source", source.url, "--name", "parts",
               "--partitions", "3", "--quiet"]
    importer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: int(platform.sql("SELECT coalesce(sum(pages), 0) FROM sync.imports") or 0) >= 12, timeout=30,
               what="pages committed")
    importer.send_signal(signal.SIGKILL)
    importer.wait()
    killed_at = int(platform.sql("SELECT sum(pages) FROM sync.imports"))
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert imported_ids(platform) == source.get("/_expected")
    names = platform.sql("SELECT string_agg(name || ':' || state, ',' ORDER BY name) FROM sync.imports")
    assert names == "parts (1/3):finished,parts (2/3):finished,parts (3/3):finished"
    stats = source.get("/_stats")
    assert stats["rate_limited"] <= 1, stats
    # One pace for the three: the rerun's requests came no faster than 12 a second.
    rerun_requests = int(platform.sql("SELECT sum(pages) FROM sync.imports")) - killed_at
    assert elapsed >= (rerun_requests - 12) / 12 * 0.9, (elapsed, rerun_requests)


def test_a_refused_cursor_resumes_after_the_last_record_without_starting_over(platform, sources):
    source = sources("--events", 6000, "--page-cap", 300, "--rate", 50, "--refuse-cursor-every", 4)
    run_import(platform, source)
    assert imported_ids(platform) == source.get("/_expected")
    stats = source.get("/_stats")
    assert stats["cursors_refused"] >= 4
    assert int(checkpoint(platform, "cursor_recoveries")) == stats["cursors_refused"]
    # Resumed, not restarted: the source served each record about once.
    assert stats["records"] < 6000 * 1.1


def test_a_checkpointed_cursor_past_its_ttl_is_not_even_tried(platform, sources):
    source = sources("--events", 8000, "--page-cap", 200, "--rate", 20, "--cursor-ttl", 1.5)
    importer = subprocess.Popen(import_command(platform, source, "--quiet"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: int(checkpoint(platform, "pages") or 0) >= 5, timeout=30, what="pages committed")
    importer.send_signal(signal.SIGKILL)
    importer.wait()
    time.sleep(2)
    done = run_import(platform, source)
    assert "past its 1 s" in done.stderr
    assert source.get("/_stats")["cursors_refused"] == 0
    assert imported_ids(platform) == source.get("/_expected")


def test_paced_to_the_announced_limit_with_no_burst_of_429s(platform, sources):
    rate = 10
    for style in ("x", "ietf"):
        platform.sql("TRUNCATE activity_events; DELETE FROM sync.imports")
        source = sources("--events", 2500, "--page-cap", 100, "--rate", rate, "--window", 1, "--header-style", style)
        started = time.monotonic()
        run_import(platform, source, "--restart")
        elapsed = time.monotonic() - started
        stats = source.get("/_stats")
        assert 25 <= stats["pages"] <= 27  # 25, and the pages that repeat records
        assert stats["rate_limited"] <= 1, (style, stats)  # at most one, in the first window
        # Never faster than the limit: 25 requests at 10/s take at least 1.4 s
        # (whole windows: the first ten may go in the first one).
        assert elapsed >= 1.4, (style, elapsed)
        assert elapsed < 25 / rate * 2 + 2, (style, elapsed)  # and not far below the ceiling
        assert imported_ids(platform) == source.get("/_expected")


def test_server_errors_and_slow_answers_are_retried(platform, sources):
    source = sources("--events", 3000, "--page-cap", 100, "--rate", 100, "--error-every", 4, "--slow-every", 9,
                     "--slow-seconds", 2)
    done = run_import(platform, source, "--request-timeout", "1s")
    assert imported_ids(platform) == source.get("/_expected")
    assert int(checkpoint(platform, "retries")) >= source.get("/_stats")["errors"]
    assert "retrying a page" in done.stderr


def test_records_with_unknown_timestamps_are_dead_lettered_and_the_rest_imported(platform, sources):
    source = sources("--events", 5000, "--page-cap", 500, "--rate", 100, "--malformed-every", 97)
    run_import(platform, source)
    expected = source.get("/_expected")
    assert imported_ids(platform) == expected
    dead = platform.sql("SELECT count(*) FROM sync.import_dead_letters WHERE import_name = 'test'")
    assert int(dead) == 5000 - len(expected) == 5000 // 97
    row = json.loads(platform.sql("SELECT json_build_object('id', source_id, 'reason', reason, 'raw', raw) "
                                  "FROM sync.import_dead_letters ORDER BY id LIMIT 1"))
    assert row["id"] == "evt_000000096"
    assert "sometime last week" in row["reason"] and "no known format" in row["reason"]
    assert json.loads(row["raw"])["details"]["note"] == "line\tbreak\n\"quoted\" \\ ünïcode"
    assert int(checkpoint(platform, "dead_lettered")) == int(dead)


def test_a_wrong_api_key_stops_with_the_sources_answer(platform, sources):
    source = sources("--events", 100, "--api-key", "s3cret")
    wrong = subprocess.run(import_command(platform, source, "--api-key-env", "IMPORT_KEY"), capture_output=True, text=True,
                           env=dict(os.environ, IMPORT_KEY="nope"), timeout=60)
    assert wrong.returncode != 0 and "HTTP 401" in wrong.stderr
    assert "nope" not in wrong.stderr
    assert checkpoint(platform, "state") == "failed"
    right = subprocess.run(import_command(platform, source, "--api-key-env", "IMPORT_KEY"), capture_output=True, text=True,
                           env=dict(os.environ, IMPORT_KEY="s3cret"), timeout=60)
    assert right.returncode == 0, right.stderr
    assert len(imported_ids(platform)) == 100


def search(index, body):
    request = urllib.request.Request(f"{ELASTICSEARCH_URL}/{index}/_search", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())["hits"]["hits"]


def activity_truth(platform):
    """Per user and project: (count, latest to the second) as Postgres has them; (0, "") for none."""
    truth = {}
    for entity, key in (("users", "user_id"), ("projects", "project_id")):
        ids = platform.sql(f"SELECT string_agg(id::text, ',') FROM {entity}").split(",")
        truth[entity] = {int(i): (0, "") for i in ids}
        rows = platform.sql(f"SELECT string_agg(id || '=' || n || '@' || latest, ',') FROM (SELECT {key} AS id, count(*) AS n, "
                            f"to_char(max(occurred_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') AS latest "
                            f"FROM activity_events WHERE {key} IS NOT NULL GROUP BY {key}) t")
        truth[entity].update({int(i): (int(n), latest) for i, rest in (r.split("=") for r in rows.split(",") if r)
                              for n, latest in [rest.split("@")]})
    return truth


def documents_agree(platform, truth):
    for entity, expected in truth.items():
        index = platform.prefix + entity
        urllib.request.urlopen(urllib.request.Request(f"{ELASTICSEARCH_URL}/{index}/_refresh", method="POST"), timeout=10).read()
        hits = search(index, {"size": 100, "query": {"match_all": {}}})
        seen = {int(h["_source"]["id"]): (h["_source"].get("activity_count"), (h["_source"].get("last_activity_at") or "")[:19])
                for h in hits}
        if seen != expected:
            return False
    return True


def test_the_documents_activity_count_and_latest_match_postgres(platform, sources):
    source = sources("--events", 12000, "--page-cap", 1000, "--rate", 100)
    run_import(platform, source)
    truth = activity_truth(platform)
    assert sum(n > 0 for n, _ in truth["projects"].values()) < PROJECTS  # some have none: 0 and null
    wait_until(lambda: documents_agree(platform, truth), timeout=60, what="activity_count and last_activity_at in the documents")
    # 12,000 inserts were coalesced: far fewer change rows than events.
    changes = int(platform.sql("SELECT count(*) FROM sync.changes WHERE tbl = 'activity_events'"))
    assert changes < 12000 / 5

    # Deletes, moves between users and projects, and a deleted user (its
    # events' user_id set to NULL) keep the counts right.
    platform.sql("DELETE FROM activity_events WHERE id < 'evt_000000500';"
                 "UPDATE activity_events SET user_id = 1, project_id = NULL WHERE id BETWEEN 'evt_000001000' AND 'evt_000001300';"
                 "UPDATE activity_events SET occurred_at = occurred_at + interval '1 day' WHERE id = 'evt_000011000';"
                 "DELETE FROM users WHERE id = 7")
    truth = activity_truth(platform)
    kept = platform.sql("SELECT count(*) FROM sync.detail_counts d WHERE n <> (SELECT count(*) FROM activity_events a WHERE "
                        "(d.fk = 'user_id' AND a.user_id = d.id) OR (d.fk = 'project_id' AND a.project_id = d.id))")
    assert kept == "0"
    wait_until(lambda: documents_agree(platform, truth), timeout=60, what="the documents after deletes and moves")


def test_imports_show_in_the_status_api_and_the_metrics(platform, sources):
    source = sources("--events", 2000, "--page-cap", 500, "--rate", 100, "--malformed-every", 50)
    run_import(platform, source)
    with urllib.request.urlopen(platform.url + "/api/status", timeout=10) as r:
        run = json.loads(r.read())["imports"][0]
    assert run["name"] == "test" and run["state"] == "finished"
    assert run["records"] >= 2000 and run["inserted"] == 1960 and run["dead_lettered"] == 40 and run["total"] == 2000
    with urllib.request.urlopen(platform.url + "/metrics", timeout=10) as r:
        metrics = r.read().decode()
    assert 'hacksync_import_inserted{import="test"} 1960' in metrics
    assert 'hacksync_import_running{import="test"} 0' in metrics
