"""The dashboard in a real browser: Debian's headless Chromium driven by
Playwright against the real `hacksync serve`, with its own search server so
the test can take it down. Saves screenshots of normal operation and of the
outage into $RUN_DIR/screenshots."""
import os
import shutil
import signal
import subprocess
import time

import pytest
from playwright.sync_api import expect, sync_playwright

from conftest import Service, free_port

ADMIN_TOKEN = "dashboard-admin-token"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = os.path.join(os.environ.get("RUN_DIR", "/tmp"), "screenshots")


class SearchServer:
    """A private search server (the same binary `make test` uses) that the
    test may stop and restart on the same port; a restart loses every index."""

    def __init__(self):
        self.binary = os.environ.get("HACKSYNC_SEARCH_BIN")
        if not self.binary:
            pytest.fail("run through `make test` (HACKSYNC_SEARCH_BIN is missing)")
        self.port = free_port()
        self.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen([self.binary, "-addr", f"127.0.0.1:{self.port}", "-no-ja", "-no-stdin-watch"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                import urllib.request
                urllib.request.urlopen(self.url, timeout=1).close()
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("the search server did not start")

    def stop(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def test_dashboard_shows_health_live_changes_dead_letters_and_an_outage():
    assert CHROMIUM, "chromium is missing: `make test` installs Debian's package"
    os.makedirs(SCREENSHOTS, exist_ok=True)
    search = SearchServer()
    service = Service(elasticsearch_url=search.url, env={"HACKSYNC_ADMIN_TOKEN": ADMIN_TOKEN})
    try:
        service.sql("INSERT INTO users (username, email, name) VALUES ('grace', 'grace@example.org', 'Grace Hopper')")
        # Valid in Postgres, rejected by the index's date field: a dead letter.
        service.sql("INSERT INTO hackathons (name, starts_at, ends_at) VALUES ('Far Future', '20000-01-01', '20000-01-02')")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1250})
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            # The page's policy allows only its own files: anything inline would be refused (and logged).
            page.on("console", lambda message: errors.append(message.text)
                    if "Content Security Policy" in message.text else None)
            page.goto(service.url + "/")
            # The stylesheet and the script are separate files, and both apply.
            assert page.eval_on_selector("body", "e => getComputedStyle(e).backgroundColor") == "rgb(15, 20, 25)"

            # Live values arrive.
            expect(page.locator("#health")).to_have_text("ready", timeout=20_000)
            expect(page.locator("#ws-state")).to_have_text("live", timeout=10_000)
            expect(page.locator("#es")).not_to_have_text("unreachable")
            expect(page.locator("#latest-seq")).not_to_have_text("–")
            expect(page.locator("#changes tr").first).to_be_visible(timeout=10_000)

            # A change made in Postgres appears in the live feed.
            service.sql("INSERT INTO users (username, email, name) VALUES ('lovelace', 'ada@example.org', 'Ada Lovelace')")
            expect(page.locator("#feed li", has_text="Ada Lovelace")).to_have_count(1, timeout=15_000)

            # The rejected document is listed; retry without the token is refused.
            letter = page.locator("#dlq tr", has_text="hackathons/")
            expect(letter).to_have_count(1, timeout=15_000)
            expect(letter.locator(".attempts")).to_have_text("1")
            letter.locator("button.retry").click()
            expect(page.locator("#toast")).to_contain_text("401")

            # Mend the row without capturing a change (replica role skips the
            # triggers), so only the retry button can resolve the entry.
            service.sql("SET session_replication_role = replica; "
                        "UPDATE hackathons SET starts_at = '2027-01-01', ends_at = '2027-01-02' WHERE name = 'Far Future'")
            page.fill("#token", ADMIN_TOKEN)
            page.locator("#token").dispatch_event("change")
            letter.locator("button.retry").click()
            expect(page.locator("#toast")).to_contain_text("202")
            expect(page.locator("#dlq tr")).to_have_count(0, timeout=15_000)
            expect(page.locator("#dlq-empty")).to_be_visible()
            expect(page.locator("#feed li", has_text="Far Future")).to_have_count(1, timeout=15_000)
            # Imports (`hacksync import events`) are listed with their counts.
            service.sql("INSERT INTO sync.imports (name, source, state, records, inserted, dead_lettered, total) "
                        "VALUES ('crm-events', 'http://127.0.0.1:9/events', 'finished', 1200, 1190, 10, 1200)")
            imported = page.locator("#imports tr[data-import='crm-events']")
            expect(imported).to_contain_text("1,200 / 1,200", timeout=15_000)
            expect(imported).to_contain_text("finished")
            time.sleep(2)  # a few points on the charts
            page.screenshot(path=os.path.join(SCREENSHOTS, "dashboard.png"), full_page=True)

            # Elasticsearch goes away while writes continue.
            search.stop()
            for i in range(40):
                service.sql(f"UPDATE users SET name = 'Grace Hopper {i}' WHERE username = 'grace'")
            expect(page.locator("#health")).to_have_text("not ready", timeout=20_000)
            expect(page.locator("#es")).to_have_text("unreachable")
            expect(page.locator("#problems")).to_contain_text("Elasticsearch unreachable")
            expect(page.locator("#role")).to_have_text("leader")
            expect(page.locator("#circuit")).to_have_text("open", timeout=30_000)
            expect(page.locator("#backlog")).not_to_have_text("0")
            time.sleep(3)
            page.screenshot(path=os.path.join(SCREENSHOTS, "dashboard-outage.png"), full_page=True)

            # It comes back empty (total loss): the service rebuilds and drains.
            search.start()
            expect(page.locator("#health")).to_have_text("ready", timeout=30_000)
            expect(page.locator("#circuit")).to_have_text("closed", timeout=30_000)
            expect(page.locator("#backlog")).to_have_text("0", timeout=30_000)
            expect(page.locator("#feed li", has_text="Grace Hopper 39")).to_have_count(1, timeout=30_000)
            page.screenshot(path=os.path.join(SCREENSHOTS, "dashboard-recovered.png"), full_page=True)
            assert errors == [], errors
            browser.close()
    finally:
        service.stop()
        search.stop()
