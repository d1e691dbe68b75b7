"""The `hacksync-watch` CLI, end to end against the real service."""
import json
import os
import select
import subprocess
import time

WATCH = os.environ.get("HACKSYNC_TEST_WATCH")


def start_watch(service, *args):
    return subprocess.Popen([WATCH, "--url", service.ws, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_until(watch, predicate, timeout=20):
    """The watch's stdout lines up to and including the first that satisfies
    `predicate` (what the test waits for, observed instead of slept for).
    Reads the pipe unbuffered, so select() sees every byte; whatever follows
    that line stays in `watch.pending` for the caller's final read."""
    pending = getattr(watch, "pending", "")
    lines, deadline = [], time.time() + timeout
    while True:
        while "\n" in pending:
            line, pending = pending.split("\n", 1)
            lines.append(line + "\n")
            if predicate(line):
                watch.pending = pending
                return lines
        remaining = deadline - time.time()
        ready, _, _ = select.select([watch.stdout.fileno()], [], [], max(0, remaining))
        chunk = os.read(watch.stdout.fileno(), 65536).decode() if ready else ""
        if not chunk:
            raise AssertionError("the watch never printed what the test waits for: " + "".join(lines) + pending)
        pending += chunk


def finish(watch, seen, timeout):
    """Waits for the watch to exit: all its stdout (including what `seen` and
    `read_until` already read) and its stderr."""
    out, err = watch.communicate(timeout=timeout)
    return "".join(seen) + getattr(watch, "pending", "") + out, err


def subscribed(line):
    return "subscribed" in line


def test_watch_prints_readable_events(service):
    watch = start_watch(service, "--channel", "users", "--limit", "2")
    seen = read_until(watch, subscribed)
    service.sql("INSERT INTO users (username, email, name) VALUES ('ada', 'ada@x', 'Ada Lovelace')")
    service.sql("UPDATE users SET name = 'Ada King' WHERE username = 'ada'")
    out, err = finish(watch, seen, timeout=30)
    lines = [l for l in out.splitlines() if "users/" in l]
    assert len(lines) == 2, out + err
    assert "insert" in lines[0] and "Ada Lovelace" in lines[0] and "@ada" in lines[0]
    assert "update" in lines[1] and "Ada King" in lines[1]
    assert "ada@x" not in out, "no token, no e-mail"


def test_watch_filters_and_prints_json(service):
    h = service.sql("INSERT INTO hackathons (name) VALUES ('H') RETURNING id")
    watch = start_watch(service, "--channel", "projects", "--where", f"hackathon.id={h}", "--events", "insert", "--json", "--limit", "1")
    seen = read_until(watch, subscribed)
    other = service.sql("INSERT INTO hackathons (name) VALUES ('Other') RETURNING id")
    service.sql(f"INSERT INTO projects (hackathon_id, name) VALUES ({other}, 'no'), ({h}, 'yes')")
    out, _ = finish(watch, seen, timeout=30)
    events = [json.loads(l) for l in out.splitlines() if '"type":"event"' in l]
    assert [e["data"]["name"] for e in events] == ["yes"]


def test_watch_shows_what_an_update_changed_and_follows_only_the_fields_asked_for(service):
    h = service.sql("INSERT INTO hackathons (name) VALUES ('Changes') RETURNING id")
    mei = service.sql("INSERT INTO users (username, email, name) VALUES ('mei', 'mei@x', 'Mei Hamilton') RETURNING id")
    watch = start_watch(service, "--channel", "projects", "--changed", "members", "--limit", "3")
    seen = read_until(watch, subscribed)
    p = service.sql(f"INSERT INTO projects (hackathon_id, name) VALUES ({h}, 'Civic Map') RETURNING id")
    seen += read_until(watch, lambda line: "insert" in line and "Civic Map" in line)
    service.sql(f"UPDATE projects SET description = 'not about members' WHERE id = {p}")
    # Settled on its own (not coalesced with the next write), and held back.
    deadline = time.time() + 20
    while service.sql("SELECT count(*) FROM sync.changes WHERE processed_at IS NULL") != "0":
        assert time.time() < deadline, "the description update never synced"
        time.sleep(0.05)
    service.sql(f"INSERT INTO project_members (project_id, user_id) VALUES ({p}, {mei})")
    seen += read_until(watch, lambda line: "members:" in line)
    service.sql(f"UPDATE users SET name = 'Mei H' WHERE id = {mei}")  # cascades into the project's members
    out, err = finish(watch, seen, timeout=30)
    lines = [l for l in out.splitlines() if f"projects/{p}" in l]
    assert len(lines) == 3, out + err
    assert "update" in lines[1] and lines[1].endswith("— members: +Mei Hamilton"), lines[1]
    assert "update" in lines[2] and lines[2].endswith("— members: Mei Hamilton → Mei H"), lines[2]


def test_watch_reconnects_and_resumes_without_gap_or_duplicate(service):
    watch = start_watch(service, "--channel", "users", "--json", "--limit", "6")
    seen = read_until(watch, subscribed)
    for i in range(3):
        service.sql(f"INSERT INTO users (username, email) VALUES ('before{i}', 'b{i}@x')")
    seen += read_until(watch, lambda line: "before2" in line)  # all three arrived live
    service.process.terminate()
    service.process.wait(timeout=10)
    for i in range(3):  # written while the service is down
        service.sql(f"INSERT INTO users (username, email) VALUES ('after{i}', 'a{i}@x')")
    service.start()
    out, err = finish(watch, seen, timeout=60)
    names = [json.loads(l)["data"]["username"] for l in out.splitlines() if '"type":"event"' in l]
    assert names == ["before0", "before1", "before2", "after0", "after1", "after2"], out + err
    assert "reconnecting" in err
