"""The admin API under property-based testing: schemathesis generates
requests for every operation of openapi.yaml (valid ones, invalid ones,
undeclared methods, sequences linked through the responses) against the real
binary, with the admin token and without it. It passes when no response is a
5xx, every response conforms to its schema, valid requests are accepted and
invalid ones refused, and no operation that declares the admin scheme answers
without the token (`--checks all`). Fixed seed and example count: the same
requests every run."""
import os
import subprocess
import sys
import tempfile

import pytest

from conftest import Service

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SPEC = os.path.join(ROOT, "openapi.yaml")
CONFIG = os.path.join(os.path.dirname(__file__), "schemathesis.toml")
SCHEMATHESIS = os.path.join(os.path.dirname(sys.executable), "schemathesis")
ADMIN_TOKEN = "schemathesis-admin-token"


@pytest.fixture(scope="module")
def admin():
    s = Service(extra_args=("--admin-token", ADMIN_TOKEN))
    yield s
    s.stop()


@pytest.mark.parametrize("with_token", [True, False], ids=["with-token", "without-token"])
def test_every_operation_keeps_its_contract(admin, with_token):
    command = [SCHEMATHESIS, "--config-file", CONFIG, "run", SPEC, "--url", admin.url,
               "--checks", "all", "--max-examples", "25", "--seed", "1"]
    if with_token:
        command += ["-H", f"Authorization: Bearer {ADMIN_TOKEN}"]
    with tempfile.TemporaryDirectory() as scratch:  # hypothesis keeps its database in the working directory
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=scratch,
                                env=dict(os.environ, NO_COLOR="1"))
    summary = [line for line in result.stdout.splitlines() if "generated" in line]
    print(f"schemathesis {'with' if with_token else 'without'} the token: {summary}")
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert ADMIN_TOKEN not in result.stdout, "the token is printed in reproductions"
