"""Fixtures: real embedded PostgreSQL and Valkey, the app, its client and CLI runner.

``TEST_DATABASE_URL`` / ``TEST_REDIS_URL`` point the suite at other servers
(they are wiped between tests); otherwise it starts embedded ones, with the
PostgreSQL data under ``instance/postgres-test`` and a database of its own
per run (dropped at the end), so two runs at once cannot disturb each other.
"""

import os

import psycopg
import pytest
import redis
from psycopg import sql

from project import INSTANCE_PATH, create_app
from project.db import migrations
from project.observability import context
from tests.builders import TEST_PASSWORD

ROOT = INSTANCE_PATH.parent
TABLES = ("order_items", "orders", "api_tokens", "products", "users")


def _drop_database(url, name):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _fresh_database(url, name):
    """Drop and re-create ``name`` on the server at ``url``; return its URL."""
    _drop_database(url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return psycopg.conninfo.make_conninfo(url, dbname=name)


@pytest.fixture(scope="session")
def services():
    """URLs of the PostgreSQL and Redis-protocol servers for this run."""
    from project.devservices import start_postgres, start_valkey

    database_url, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    admin_url = valkey = None
    database = f"store_test_{os.getpid()}"
    if not database_url:
        _, admin_url = start_postgres(INSTANCE_PATH / "postgres-test", "postgres")
        database_url = _fresh_database(admin_url, database)
    if not redis_url:
        valkey, redis_url = start_valkey()
    yield {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    if valkey is not None:
        valkey.stop()
    if admin_url is not None:
        _drop_database(admin_url, database)


@pytest.fixture(scope="session")
def settings(services):
    """The test configuration mapping passed to ``create_app``."""
    return {
        "APP_ENV": "test",
        "SECRET_KEY": "test-secret-key",
        "DB_POOL_MAX_SIZE": 10,
        **services,
    }


@pytest.fixture(scope="session")
def app(settings):
    """One app for the session, with the schema migrated."""
    app = create_app(settings)
    with app.app_context():
        migrations.upgrade()
    return app


@pytest.fixture(autouse=True)
def clean_state(request, services):
    """Every test starts with empty tables and an empty Redis."""
    with psycopg.connect(services["DATABASE_URL"], autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('users') IS NOT NULL").fetchone()[0]
        if exists:
            conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(map(sql.Identifier, TABLES))))
    redis.Redis.from_url(services["REDIS_URL"]).flushdb()
    context.clear()  # a request ID made outside a request must not leak into the next test


@pytest.fixture(autouse=True)
def close_pools_opened_by_the_test(app):
    """Close the database pools of apps a test made, so connections never pile up over the run."""
    from project.db import ProcessPool

    keep = set(ProcessPool.open_holders) | {app.extensions["db"]}  # the session app's pool stays open
    yield
    for holder in ProcessPool.open_holders - keep:
        holder.close()


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for the app's commands."""
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An app context, for calling repositories and builders directly."""
    with app.app_context():
        yield


@pytest.fixture
def admin(ctx, client):
    """A signed-in admin: ``{"user", "token", "headers"}``."""
    from tests.builders import sign_in

    return sign_in(client, role="admin", tier="premium")


@pytest.fixture
def customer(ctx, client):
    """A signed-in free-tier customer."""
    from tests.builders import sign_in

    return sign_in(client, email="customer@example.com")


@pytest.fixture
def password():
    """The password every builder-made account has."""
    return TEST_PASSWORD


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _service_environment(settings):
    """The environment for a real gunicorn or RQ worker process of this test run."""
    keep = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "APP_ENV")}
    return {**keep, **{k: str(v) for k, v in settings.items()}}


@pytest.fixture(scope="session")
def service_env(app, settings):
    """Environment variables that make ``wsgi:app`` use this run's servers."""
    return _service_environment(settings)


@pytest.fixture(scope="session")
def live_server_log(tmp_path_factory):
    """The file that the ``live_server`` gunicorn writes its stdout and stderr (JSON log lines) to."""
    return tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"


class Gunicorn:
    """A real gunicorn (``gunicorn.conf.py``) on a free loopback port, its output in a log file."""

    def __init__(self, env, log_file, app="wsgi:app", workers=2):
        import subprocess
        import sys

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = log_file
        self._output = log_file.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", app],
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(workers)},
            stdout=self._output, stderr=subprocess.STDOUT, cwd=ROOT)
        self._wait_until_serving()

    def _wait_until_serving(self, timeout=30):
        import time
        import urllib.request

        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1):  # noqa: S310 - loopback
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"gunicorn did not start:\n{self.log_file.read_text()[-3000:]}") from None
                time.sleep(0.2)

    def stop(self):
        """SIGTERM, then wait for a graceful exit (SIGKILL after 30 s)."""
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._output.close()


@pytest.fixture(scope="session")
def live_server(service_env, live_server_log):
    """gunicorn serving ``wsgi:app`` with 3 workers on 127.0.0.1, for the whole run; yields its base URL."""
    server = Gunicorn(service_env, live_server_log, workers=3)
    yield server.url
    server.stop()


@pytest.fixture
def start_gunicorn(service_env, tmp_path):
    """Start a gunicorn of this test's own: ``start_gunicorn(workers=2, app="wsgi:app", **env)``; stopped after."""
    servers = []

    def start(*, workers=2, app="wsgi:app", **env):
        server = Gunicorn({**service_env, **env}, tmp_path / f"gunicorn-{len(servers)}.log", app=app, workers=workers)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def run_worker(service_env):
    """Run a real RQ worker (``flask rq worker --burst``) until the queues are empty.

    ``run(**env)`` adds settings to the worker's environment (e.g. ``WEBHOOK_URL``);
    the result's ``stdout`` holds the worker's JSON log lines.
    """
    import subprocess
    import sys

    def run(**env):
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "flask", "--app", "wsgi", "rq", "worker", "--burst"],
            env={**service_env, **env}, capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert result.returncode == 0, result.stderr
        print(result.stdout, result.stderr)  # the worker's log lines, shown when a test fails
        return result

    return run
