"""CPU seconds spent by the processes of a benchmark (Linux /proc), so that
a result can say what the two cores were doing."""
import os
import subprocess


def cpu(pid):
    """User + system CPU seconds of a live process, with its reaped children."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, TypeError):
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def postgres_cpu():
    """The cluster's CPU seconds: the postmaster, its reaped backends and the live ones."""
    postmaster = int(open(os.path.join(os.environ["HACKSYNC_PG_DATA"], "postmaster.pid")).readline())
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
    return cpu(postmaster) + sum(cpu(int(c)) for c in children)


def search_pid():
    """The in-memory search server started by scripts/services.sh."""
    path = os.environ.get("HACKSYNC_SEARCH_PID_FILE")
    return int(open(path).read().strip()) if path and os.path.exists(path) else None
