"""The `hacksync-watch` CLI, end to end against the real service."""
import json
import os
import subprocess
import time

WATCH = os.environ.get("HACKSYNC_TEST_WATCH")


def start_watch(service, *args):
    return subprocess.Popen([WATCH, "--url", service.ws, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_watch_prints_readable_events(service):
    watch = start_watch(service, "--channel", "users", "--limit", "2")
    time.sleep(1)
    service.sql("INSERT INTO users (username, email, name) VALUES ('ada', 'ada@x', 'Ada Lovelace')")
    service.sql("UPDATE users SET name = 'Ada King' WHERE username = 'ada'")
    out, err = watch.communicate(timeout=30)
    lines = [l for l in out.splitlines() if "users/" in l]
    assert len(lines) == 2, out + err
    assert "insert" in lines[0] and "Ada Lovelace" in lines[0] and "@ada" in lines[0]
    assert "update" in lines[1] and "Ada King" in lines[1]
    assert "ada@x" not in out, "no token, no e-mail"


def test_watch_filters_and_prints_json(service):
    h = service.sql("INSERT INTO hackathons (name) VALUES ('H') RETURNING id")
    watch = start_watch(service, "--channel", "projects", "--where", f"hackathon.id={h}", "--events", "insert", "--json", "--limit", "1")
    time.sleep(1)
    other = service.sql("INSERT INTO hackathons (name) VALUES ('Other') RETURNING id")
    service.sql(f"INSERT INTO projects (hackathon_id, name) VALUES ({other}, 'no'), ({h}, 'yes')")
    out, _ = watch.communicate(timeout=30)
    events = [json.loads(l) for l in out.splitlines() if '"type":"event"' in l]
    assert [e["data"]["name"] for e in events] == ["yes"]


def test_watch_reconnects_and_resumes_without_gap_or_duplicate(service):
    watch = start_watch(service, "--channel", "users", "--json", "--limit", "6")
    time.sleep(1)
    for i in range(3):
        service.sql(f"INSERT INTO users (username, email) VALUES ('before{i}', 'b{i}@x')")
    time.sleep(1.5)
    service.process.terminate()
    service.process.wait(timeout=10)
    for i in range(3):  # written while the service is down
        service.sql(f"INSERT INTO users (username, email) VALUES ('after{i}', 'a{i}@x')")
    service.start()
    out, err = watch.communicate(timeout=60)
    names = [json.loads(l)["data"]["username"] for l in out.splitlines() if '"type":"event"' in l]
    assert names == ["before0", "before1", "before2", "after0", "after1", "after2"], out + err
    assert "reconnecting" in err
