"""The one error handler: problem+json for every failure, 503 when a dependency is down."""

import psycopg
import pytest

from project import create_app
from project.observability import context
from project.observability.errors import handle_data_error

PROBLEM = "application/problem+json"


@pytest.fixture
def broken_app(settings, tmp_path):
    """An app whose PostgreSQL and Redis URLs point at nothing (a real connection failure)."""
    app = create_app({**settings, "DATABASE_URL": f"postgresql:///store?host={tmp_path}&connect_timeout=1",
                      "REDIS_URL": "redis://127.0.0.1:1/0", "DB_POOL_TIMEOUT": 0.5})

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    yield app
    app.extensions["db"].close()  # stop its pool's reconnect attempts


def test_database_down_is_503_with_retry_after(broken_app):
    response = broken_app.test_client().get("/api/v1/products")
    assert response.status_code == 503
    assert response.mimetype == PROBLEM
    assert response.headers["Retry-After"].isdigit()
    assert str(broken_app.config["DATABASE_URL"]) not in response.get_data(as_text=True)


def test_redis_down_is_503_and_enqueues_nothing(settings, ctx, admin):
    app = create_app({**settings, "REDIS_URL": "redis://127.0.0.1:1/0"})
    response = app.test_client().post("/api/v1/reports", json={}, headers=admin["headers"])
    assert response.status_code == 503 and response.mimetype == PROBLEM
    assert response.headers["Retry-After"].isdigit()


def test_unexpected_error_is_500_without_internals(broken_app):
    response = broken_app.test_client().get("/boom")
    body = response.get_json()
    assert response.status_code == 500 and response.mimetype == PROBLEM
    assert body["detail"].startswith("An unexpected error occurred.")
    assert "hunter2" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_unknown_route_and_method_are_problems(client):
    missing = client.get("/nope")
    assert missing.status_code == 404 and missing.mimetype == PROBLEM
    wrong_method = client.put("/api/v1/products")
    assert wrong_method.status_code == 405 and wrong_method.mimetype == PROBLEM
    assert "GET" in wrong_method.headers["Allow"]


def test_a_value_the_database_refuses_is_a_client_error(app):
    # bind(): the request ID made up outside a real request must not outlive this test.
    with app.test_request_context("/api/v1/products"), context.bind():
        response = handle_data_error(psycopg.errors.NumericValueOutOfRange())
    assert response.status_code == 422 and response.mimetype == PROBLEM
