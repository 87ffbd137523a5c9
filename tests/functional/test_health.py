"""Health: probes, component status and its audience, real outages, the drain on SIGTERM.

Outages are real: the database and Redis tests start servers of their own
(embedded PostgreSQL in a temporary directory, a throw-away Valkey), build an
app on them, and stop them.
"""

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request

import pytest

from project import create_app
from project.db import migrations
from project.devservices import start_postgres, start_valkey
from project.observability import health_checks
from tests.builders import sign_in

HEALTH_TOKEN = "operator-token-for-tests"


def components_of(client, headers=None):
    """The details answer for an operator (``HEALTH_TOKEN``)."""
    response = client.get("/health/details", headers=headers or {"Authorization": f"Bearer {HEALTH_TOKEN}"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def make_app(app, settings):
    """``make_app(**overrides)``: a fresh app (uncached health, its own pool), closed after the test."""
    apps = []

    def make(**overrides):
        made = create_app({**settings, "HEALTH_TOKEN": HEALTH_TOKEN, "HEALTH_CACHE_SECONDS": 0, **overrides})
        apps.append(made)
        return made

    yield make  # ``app`` has migrated the suite's database
    for made in apps:
        made.extensions["db"].close()


@pytest.fixture
def own_postgres(tmp_path):
    """A PostgreSQL server of this test's own, migrated: ``(server, url)``; stopped at the end."""
    server, url = start_postgres(tmp_path / "pg", "store")
    yield server, url
    server.cleanup()


@pytest.fixture
def own_valkey():
    """A Valkey of this test's own: ``(server, url)``; stopped at the end if still running."""
    server, url = start_valkey()
    yield server, url
    if server.is_running():
        server.stop()


def test_basic_and_liveness_touch_no_dependency(make_app, tmp_path):
    # No server behind either URL: these probes must not care.
    app = make_app(DATABASE_URL=f"postgresql:///store?host={tmp_path}&connect_timeout=1",
                   REDIS_URL="redis://127.0.0.1:1/0")
    client = app.test_client()

    for path in ("/health", "/health/live"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.get_json() == {"status": "UP"}


def test_everything_up_is_ready_with_details_for_operators(make_app):
    client = make_app().test_client()

    ready = client.get("/health/ready")
    body = components_of(client)

    assert ready.status_code == 200 and ready.get_json() == {"status": "UP"}
    assert body["status"] == "UP" and body["ready"] is True and body["draining"] is False
    assert set(body["components"]) >= {"database", "redis", "queues"}
    database = body["components"]["database"]
    assert database["status"] == "UP" and database["critical"] is True and database["latency_ms"] >= 0
    assert database["details"]["migrations"]["current"] is True
    assert {"size", "available", "in_use", "waiting"} <= set(database["details"]["pool"])
    assert body["components"]["redis"]["details"]["ping_ms"] >= 0
    queues = body["components"]["queues"]["details"]
    assert "default" in queues["queues"] and "workers" in queues
    for key in ("version", "commit", "environment", "started_at", "uptime_seconds", "python", "dependencies"):
        assert body[key] is not None, key
    assert body["environment"] == "test" and body["dependencies"]["flask"]


def test_details_show_the_status_alone_without_an_operator_credential(make_app):
    app = make_app()
    client = app.test_client()
    with app.app_context():
        customer = sign_in(client)
        admin = sign_in(client, role="admin")

    anonymous = client.get("/health/details")
    wrong = client.get("/health/details", headers={"Authorization": "Bearer not-the-health-token"})
    as_customer = client.get("/health/details", headers=customer["headers"])
    as_admin = client.get("/health/details", headers=admin["headers"])

    for response in (anonymous, wrong, as_customer):
        assert response.status_code == 200
        assert response.get_json() == {"status": "UP"}
    assert set(as_admin.get_json()["components"]) >= {"database", "redis", "queues"}


def test_database_stopped_means_not_ready_but_alive(make_app, own_postgres):
    server, url = own_postgres
    app = make_app(DATABASE_URL=url, DB_POOL_TIMEOUT=1.0, HEALTH_TIMEOUT=1.5)
    with app.app_context():
        migrations.upgrade()
    client = app.test_client()
    assert client.get("/health/ready").status_code == 200

    server.cleanup()  # stops the server

    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.mimetype == "application/problem+json"
    assert ready.headers["Retry-After"].isdigit()
    assert ready.get_json()["health"] == {"status": "DOWN", "draining": False}
    assert ready.get_json()["request_id"]
    assert client.get("/health/live").status_code == 200
    assert client.get("/health").status_code == 200
    body = components_of(client)
    assert body["status"] == "DOWN" and body["ready"] is False
    database = body["components"]["database"]
    assert database["status"] == "DOWN"
    assert database["error"]  # what went wrong, redacted: no password in it
    assert "password" not in database["error"].lower()


def test_pending_migrations_mean_not_ready(make_app, own_postgres):
    _, url = own_postgres  # a database with no schema at all
    client = make_app(DATABASE_URL=url).test_client()

    assert client.get("/health/ready").status_code == 503
    migrations_status = components_of(client)["components"]["database"]["details"]["migrations"]
    assert migrations_status["current"] is False
    assert migrations_status["pending"]


def test_redis_stopped_means_degraded_and_still_ready(make_app, own_valkey):
    server, url = own_valkey
    client = make_app(REDIS_URL=url, HEALTH_TIMEOUT=1.0).test_client()
    assert components_of(client)["components"]["redis"]["status"] == "UP"

    server.stop()

    ready = client.get("/health/ready")
    body = components_of(client)
    assert ready.status_code == 200 and ready.get_json() == {"status": "DEGRADED"}
    assert body["status"] == "DEGRADED" and body["ready"] is True
    assert body["components"]["redis"]["status"] == "DOWN"
    assert body["components"]["redis"]["critical"] is False
    assert body["components"]["redis"]["error"]
    assert body["components"]["database"]["status"] == "UP"


def test_a_hung_check_is_cut_off_at_the_deadline(make_app):
    app = make_app(HEALTH_TIMEOUT=0.5)
    release = threading.Event()

    def hangs(timeout):
        release.wait(10)
        return health_checks.UP, {}

    health_checks.register_check(app, "hangs", hangs)  # after create_app, as later concerns do
    client = app.test_client()
    try:
        started = time.monotonic()
        body = components_of(client)
        elapsed = time.monotonic() - started
    finally:
        release.set()

    assert body["components"]["hangs"]["status"] == "DOWN"
    assert "no answer within" in body["components"]["hangs"]["error"]
    assert body["components"]["database"]["status"] == "UP"  # the others still answered
    assert body["status"] == "DEGRADED"  # not critical: still ready
    assert elapsed < 5  # cut off near the 0.5 s deadline, far from the check's 10 s


def test_results_are_reused_so_a_probe_storm_checks_once(make_app):
    app = make_app(HEALTH_CACHE_SECONDS=30)
    calls = []

    def counted(timeout):
        calls.append(1)
        return health_checks.UP, {}

    health_checks.register_check(app, "counted", counted)
    client = app.test_client()

    threads = [threading.Thread(target=client.get, args=("/health/ready",)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first = components_of(client)["checked_at"]

    assert len(calls) == 1
    assert components_of(client)["checked_at"] == first


def http(url):
    """``(status, JSON body)`` of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_sigterm_drains_readiness_while_in_flight_requests_finish(start_gunicorn):
    server = start_gunicorn(workers=2, app="tests.functional.slow_wsgi:app", DRAIN_SECONDS="2")
    assert http(f"{server.url}/health/ready")[0] == 200
    slow = {}
    # Longer than the drain: it is still running when gunicorn stops accepting, and must finish.
    in_flight = threading.Thread(target=lambda: slow.update(answer=http(f"{server.url}/test/slow?seconds=4")))
    in_flight.start()
    time.sleep(0.3)  # the slow request is in a worker

    os.kill(server.process.pid, signal.SIGTERM)
    time.sleep(0.3)  # the master has made the drain flag
    ready_status, ready_body = http(f"{server.url}/health/ready")
    live_status, _ = http(f"{server.url}/health/live")
    in_flight.join(15)

    assert ready_status == 503 and ready_body["health"]["draining"] is True
    assert live_status == 200  # draining is not dying: no restart
    assert slow["answer"] == (200, {"slept": 4.0})
    assert server.process.wait(30) == 0
