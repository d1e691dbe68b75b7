"""psql for the benchmark drivers: one statement, its output, or an exit
that says which statement failed and why."""
import subprocess


def query(db, statement):
    done = subprocess.run(["psql", db, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", statement], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{statement[:80]}: {done.stderr.strip()}")
    return done.stdout.strip()
