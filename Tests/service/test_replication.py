"""Logical replication with two real clusters: `hacksync replica init` mirrors
the platform tables into a subscriber database (initial copy, then inserts,
updates and deletes), the running service reports the slot in /api/status
and /metrics, a stopped subscriber is flagged and catches up, and `drop`
leaves no slot behind."""
import json
import os
import random
import subprocess
import time
import urllib.request

import pytest

from conftest import BINARY, Service, psql, wait_until

SUBSCRIBER_URL = os.environ.get("SUBSCRIBER_URL")
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
TABLES = ["users", "hackathons", "hackathon_participants", "projects", "project_members"]


class Replica:
    """A fresh subscriber database on the second cluster and the CLI around it."""

    def __init__(self, service):
        if not SUBSCRIBER_URL:
            pytest.fail("run through `make test` (SUBSCRIBER_URL is missing)")
        self.service = service
        self.name = "sub_%x" % random.getrandbits(40)
        self.db_name = "hs_" + self.name
        psql(SUBSCRIBER_URL, f"CREATE DATABASE {self.db_name}")
        self.url = SUBSCRIBER_URL.rsplit("/", 1)[0] + "/" + self.db_name

    def cli(self, *args):
        result = subprocess.run([BINARY, "replica", *args, "--database-url", self.service.db_url,
                                 "--subscriber-url", self.url, "--name", self.name],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def status(self):
        return json.loads(self.cli("status", "--json"))

    def slots_on_source(self):
        """This database's logical slots: ours, and those of an initial copy."""
        return int(psql(self.service.db_url,
                        "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"))

    def close(self):
        """Best effort, and never hiding the test's own failure: a slot left
        behind would hold WAL on the shared cluster for the rest of the run."""
        subprocess.run([BINARY, "replica", "drop", "--database-url", self.service.db_url, "--subscriber-url", self.url,
                        "--name", self.name], capture_output=True, timeout=60)
        for statement, url in ((f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                                f"WHERE database = current_database() AND NOT active", self.service.db_url),
                               (f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)", SUBSCRIBER_URL)):
            try:
                psql(url, statement)
            except subprocess.CalledProcessError as error:
                print("cleanup:", error.stderr)


def snapshot(url, table):
    return psql(url, f"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t")


def wait_mirrored(service, replica, timeout=60):
    deadline = time.time() + timeout
    while True:
        different = [t for t in TABLES if snapshot(service.db_url, t) != snapshot(replica.url, t)]
        if not different:
            return
        assert time.time() < deadline, f"not mirrored after {timeout} s: {different}"
        time.sleep(0.2)


def api_status(service):
    with urllib.request.urlopen(service.url + "/api/status", timeout=10) as response:
        return json.loads(response.read())


def slot_in_status(service, name):
    return next((slot for slot in api_status(service)["replication"] or [] if slot["slot"] == name), None)


def wait_for(predicate, timeout=30, what="condition"):
    return wait_until(predicate, timeout=timeout, what=what, interval=0.2)


def dashboard_flags_the_stall(service, slot):
    """The dashboard in headless Chromium shows the slot as not connected,
    with the problem in the red bar."""
    import shutil
    from playwright.sync_api import expect, sync_playwright
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is missing: `make test` installs Debian's package"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(service.url + "/")
        row = page.locator(f'#replication tr[data-slot="{slot}"]')
        expect(row).to_contain_text("not connected", timeout=15_000)
        expect(row).to_contain_text("no subscriber connected")
        expect(page.locator("#problems")).to_contain_text(f"replication slot {slot}")
        expect(page.locator("#health")).to_have_text("ready, replication degraded")
        folder = os.path.join(os.environ.get("RUN_DIR", "/tmp"), "screenshots")
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, "dashboard-replication-stalled.png"), full_page=True)
        browser.close()


def seed(service):
    service.sql("""
        INSERT INTO users (username, email, name) SELECT 'user' || i, 'user' || i || '@example.org', 'User ' || i
          FROM generate_series(1, 50) i;
        INSERT INTO hackathons (name, starts_at, ends_at) VALUES ('Spring', '2027-03-01', '2027-03-03'), ('Autumn', '2027-10-01', '2027-10-03');
        INSERT INTO hackathon_participants (hackathon_id, user_id) SELECT 1 + i % 2, i FROM generate_series(1, 50) i;
        INSERT INTO projects (hackathon_id, name, created_by) SELECT 1 + i % 2, 'Project ' || i, i FROM generate_series(1, 20) i;
        INSERT INTO project_members (project_id, user_id) SELECT i, i FROM generate_series(1, 20) i;
    """)


@pytest.fixture
def stalling_service():
    s = Service(extra_args=("--replication-stall-after", "2s"))
    yield s
    s.stop()


def test_init_mirrors_every_change_and_drop_leaves_no_slot(stalling_service):
    service = stalling_service
    seed(service)
    replica = Replica(service)
    try:
        out = replica.cli("init")
        assert "created publication" in out or "already exists" in out
        assert "created the platform tables" in out and "created subscription" in out, out
        wait_mirrored(service, replica)  # the initial copy

        again = replica.cli("init")  # idempotent: nothing to do
        assert again.count("already exist") == 3, again

        service.sql("""
            INSERT INTO users (username, email, name) VALUES ('late', 'late@example.org', 'Late Comer');
            UPDATE users SET name = 'Renamed' WHERE username = 'user7';
            UPDATE projects SET description = 'now with a description' WHERE id <= 5;
            DELETE FROM project_members WHERE project_id = 3;
            DELETE FROM hackathons WHERE name = 'Autumn';
        """)  # the last one cascades to its participants and projects
        wait_mirrored(service, replica)
        assert psql(replica.url, "SELECT name FROM users WHERE username = 'user7'") == "Renamed"
        assert psql(replica.url, "SELECT count(*) FROM projects") == psql(service.db_url, "SELECT count(*) FROM projects")

        status = replica.status()
        slot = next(s for s in status["slots"] if s["slot"] == replica.name)
        assert slot["active"] and not slot["stalled"], slot
        subscription = status["subscriptions"][0]
        assert subscription["name"] == replica.name and subscription["tables"] == 5 and subscription["tables_ready"] == 5

        reported = wait_for(lambda: slot_in_status(service, replica.name), what="the slot in /api/status")
        assert reported["active"] and not reported["stalled"] and reported["problems"] == []
        metrics = urllib.request.urlopen(service.url + "/metrics", timeout=10).read().decode()
        for name in ("hacksync_replication_lag_bytes", "hacksync_replication_lag_seconds",
                     "hacksync_replication_retained_wal_bytes", "hacksync_replication_stalled"):
            assert f'{name}{{subscription="{replica.name}"}}' in metrics, name

        out = replica.cli("drop")
        assert "dropped subscription" in out, out
        assert replica.slots_on_source() == 0
        assert psql(replica.url, "SELECT count(*) FROM pg_subscription") == "0"
        wait_for(lambda: slot_in_status(service, replica.name) is None, what="the slot to leave /api/status")
        metrics = urllib.request.urlopen(service.url + "/metrics", timeout=10).read().decode()
        assert replica.name not in metrics
        assert "no subscription" in replica.cli("drop")  # again: nothing left to drop
    finally:
        replica.close()


def test_a_stopped_subscriber_is_flagged_and_catches_up(stalling_service):
    service = stalling_service
    seed(service)
    replica = Replica(service)
    try:
        replica.cli("init")
        wait_mirrored(service, replica)
        subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "stop-subscriber"], check=True)
        try:
            service.sql("INSERT INTO users (username, email) SELECT 'offline' || i, 'o' || i || '@example.org' FROM generate_series(1, 300) i")
            service.sql("UPDATE users SET bio = 'written while the subscriber was down' WHERE username LIKE 'user%'")
            stalled = wait_for(lambda: (s := slot_in_status(service, replica.name)) and s["stalled"] and s,
                               timeout=30, what="the slot to be flagged stalled")
            assert not stalled["active"] and stalled["lag_bytes"] > 0 and stalled["lag_seconds"] >= 2
            assert any("no subscriber connected" in problem for problem in stalled["problems"]), stalled
            metrics = urllib.request.urlopen(service.url + "/metrics", timeout=10).read().decode()
            assert f'hacksync_replication_stalled{{subscription="{replica.name}"}} 1' in metrics
            dashboard_flags_the_stall(service, replica.name)
        finally:
            subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "start-subscriber"], check=True)
        wait_mirrored(service, replica, timeout=90)
        recovered = wait_for(lambda: (s := slot_in_status(service, replica.name)) and s["active"] and not s["stalled"] and s,
                             timeout=30, what="the slot to recover")
        assert recovered["problems"] == []
    finally:
        replica.close()


def test_lag_rises_under_load_and_returns_near_zero(service):
    seed(service)
    replica = Replica(service)
    try:
        replica.cli("init")
        wait_mirrored(service, replica)
        # 3,000 single-row transactions from one session, as fast as Postgres takes them.
        script = os.path.join(os.environ.get("RUN_DIR", "/tmp"), f"{replica.name}-load.sql")
        with open(script, "w") as f:
            f.write("\n".join(f"UPDATE users SET name = 'load {i}' WHERE id = {1 + i % 50};" for i in range(3000)))
        writer = subprocess.Popen(["psql", service.db_url, "-qX", "-v", "ON_ERROR_STOP=1", "-f", script],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        samples = []
        while writer.poll() is None:
            slot = slot_in_status(service, replica.name)
            if slot:
                samples.append(slot["lag_bytes"])
            time.sleep(0.05)
        assert writer.returncode == 0, writer.stderr.read()
        assert max(samples, default=0) > 0, "no lag was ever visible under load"
        settled = wait_for(lambda: (s := slot_in_status(service, replica.name)) and s["lag_bytes"] < 64 * 1024
                           and s["lag_seconds"] < 1 and s, timeout=30, what="the lag to return near zero")
        assert settled["active"]
        wait_mirrored(service, replica)
    finally:
        replica.close()
