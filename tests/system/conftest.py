"""Fixtures of the system tests: one cluster for the whole run, users and products on it.

These tests bring their own PostgreSQL and Valkey (tests/system/cluster.py),
so the suite's per-test cleaning of its shared servers is switched off here.
``SYSTEM_TEST_SECONDS`` is how long each load phase runs: short in
``make test``, longer in ``make system-test``.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.system.cluster import Cluster

LOAD_SECONDS = float(os.environ.get("SYSTEM_TEST_SECONDS", "6"))


def pytest_configure(config):
    """Register the ``system`` marker (``--strict-markers`` refuses unknown ones)."""
    config.addinivalue_line("markers", "system: the multi-process system tests (tests/system)")


def pytest_collection_modifyitems(items):
    """Every test here is marked ``system`` (``-m 'not system'`` leaves them out)."""
    for item in items:
        if "tests/system/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.system)


@pytest.fixture(autouse=True)
def clean_state():
    """No-op: the cluster's servers are not the suite's, and the checks keep their data apart."""


@pytest.fixture(autouse=True)
def close_pools_opened_by_the_test():
    """No-op: the cluster's app keeps its pool for the whole run."""


@pytest.fixture(scope="session")
def cluster(request):
    """The running cluster; stopped, with everything it started, at the end of the run.

    Its directory is not pytest's ``tmp_path``: embedded PostgreSQL runs as another user
    when we are root, and a concurrent pytest resets its base directory to 0700. The
    directory (logs, ``recovery.json``) is kept when a test failed, and removed otherwise.
    """
    root = Path(tempfile.mkdtemp(prefix="store-system-"))
    root.chmod(0o755)
    started = Cluster(root)
    yield started
    started.stop()
    if request.session.testsfailed:
        print(f"system test logs kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def on_cluster(cluster):
    """An app context on the cluster's database and Redis, for builders and enqueueing."""
    with cluster.app.app_context():
        yield cluster


@pytest.fixture
def load_seconds():
    """How long a load phase runs (``SYSTEM_TEST_SECONDS``)."""
    return LOAD_SECONDS
