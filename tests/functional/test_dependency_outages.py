"""A dependency that is down or too slow on the request path: a 503 problem+json with Retry-After, never a reset.

PostgreSQL unreachable, the pool exhausted, a statement past its timeout and
Redis down where the feature cannot fail open (enqueueing, job status) each
answer 503 ``service-unavailable``. Rate limits, IP block checks and the
cache fail open by design, so with Redis down reads and orders still work.
The gunicorn tests check the answer arrives over a real socket: a worker that
crashed or hung would show up as a reset or a timeout in the client.
"""

import json
import threading
import urllib.error
import urllib.request

import psycopg
import pytest

from project import create_app, db
from project.security.auth import issue_token
from tests.builders import make_product, make_user
from tests.problems import assert_problem

ORDERS, PRODUCTS, REPORTS = "/api/v1/orders", "/api/v1/products", "/api/v1/reports"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # port 1: nothing listens, the connection is refused at once


def assert_unavailable(response):
    body = assert_problem(response, 503)
    assert body["type"] == "/problems/service-unavailable"
    assert response.headers["Retry-After"].isdigit()
    return body


def test_an_exhausted_pool_is_503_after_the_pool_timeout(settings, ctx, customer):
    app = create_app({**settings, "DB_POOL_MIN_SIZE": 1, "DB_POOL_MAX_SIZE": 1, "DB_POOL_TIMEOUT": 0.3})
    with app.app_context(), db.connection():  # the only connection is taken, as by a stuck request
        response = app.test_client().get(PRODUCTS, headers=customer["headers"])

    body = assert_unavailable(response)
    assert settings["DATABASE_URL"] not in json.dumps(body)
    assert app.test_client().get(PRODUCTS).status_code == 200  # given back: the next request is served


def test_a_statement_past_its_timeout_is_503_and_orders_nothing(settings, services, ctx, customer):
    app = create_app({**settings, "DB_STATEMENT_TIMEOUT_MS": 300})
    cup = make_product(stock=5)
    with psycopg.connect(services["DATABASE_URL"]) as other:  # holds the product's row lock past the timeout
        other.execute("SELECT id FROM products WHERE id = %s FOR UPDATE", (cup["id"],))

        response = app.test_client().post(ORDERS, json={"items": [{"product_id": cup["id"], "quantity": 1}]},
                                          headers=customer["headers"])

    assert_unavailable(response)
    assert db.fetch_one("SELECT count(*) AS n FROM orders")["n"] == 0
    assert db.fetch_one("SELECT stock FROM products WHERE id = %s", (cup["id"],))["stock"] == 5


def test_redis_down_is_503_for_job_status(settings, ctx, customer):
    app = create_app({**settings, "REDIS_URL": DEAD_REDIS})

    assert_unavailable(app.test_client().get("/api/v1/jobs/some-job-id", headers=customer["headers"]))


# --- over a real gunicorn -----------------------------------------------------------------------------------------

def call(method, url, token=None, body=None):
    """One request; ``(status, headers, parsed body)``. A reset or timeout raises, failing the test."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - loopback
            return response.status, response.headers, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, json.load(error)


def assert_unavailable_over_http(answer, label=""):
    status, headers, body = answer
    assert status == 503, (label, body)
    assert headers.get_content_type() == "application/problem+json"
    assert body["type"] == "/problems/service-unavailable" and headers["Retry-After"].isdigit()


@pytest.fixture
def tokens(ctx):
    """A customer's and an admin's bearer tokens, and a product to order."""
    customer, admin = make_user(), make_user(role="admin")
    return {"customer": issue_token(user_id=customer["id"])[0], "admin": issue_token(user_id=admin["id"])[0],
            "product": make_product(stock=100)}


def test_with_postgresql_down_every_kind_of_request_is_answered_503(start_gunicorn, tokens, tmp_path):
    server = start_gunicorn(workers=2, DATABASE_URL=f"postgresql:///store?host={tmp_path}&connect_timeout=1",
                            DB_POOL_TIMEOUT="0.5")
    order = {"items": [{"product_id": tokens["product"]["id"], "quantity": 1}]}
    answers = {}

    def send(name, *args):
        answers[name] = call(*args)

    # At once, so both workers answer; each request waits at most DB_POOL_TIMEOUT for a connection.
    requests = {"list": ("GET", f"{server.url}{PRODUCTS}"),
                "product": ("GET", f"{server.url}{PRODUCTS}/{tokens['product']['id']}"),
                "order": ("POST", f"{server.url}{ORDERS}", tokens["customer"], order),
                "orders": ("GET", f"{server.url}{ORDERS}", tokens["customer"]),
                "report": ("POST", f"{server.url}{REPORTS}", tokens["admin"], {})}
    threads = [threading.Thread(target=send, args=(name, *args)) for name, args in requests.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert answers.keys() == requests.keys()
    for name, answer in answers.items():
        assert_unavailable_over_http(answer, name)
    status, _, _ = call("GET", f"{server.url}/health")
    assert status == 200  # the workers are alive and serving: nothing crashed


def test_with_redis_down_what_fails_open_works_and_the_rest_is_503(start_gunicorn, tokens):
    server = start_gunicorn(workers=2, REDIS_URL=DEAD_REDIS)
    order = {"items": [{"product_id": tokens["product"]["id"], "quantity": 1}]}

    listed = call("GET", f"{server.url}{PRODUCTS}")
    placed = call("POST", f"{server.url}{ORDERS}", tokens["customer"], order)
    report = call("POST", f"{server.url}{REPORTS}", tokens["admin"], {})
    job = call("GET", f"{server.url}/api/v1/jobs/some-job-id", tokens["customer"])

    assert listed[0] == 200  # the cache and the rate limits fail open
    assert placed[0] == 201, placed[2]
    assert_unavailable_over_http(report)  # a job cannot be queued without Redis
    assert_unavailable_over_http(job)


def test_connections_cut_by_a_postgresql_restart_give_503_never_500(settings, services, ctx, customer):
    app = create_app({**settings, "SERVICE_NAME": "outage-test", "DB_POOL_MIN_SIZE": 2, "DB_POOL_MAX_SIZE": 2})
    client = app.test_client()
    assert client.get(PRODUCTS, headers=customer["headers"]).status_code == 200  # the pool has live connections
    with psycopg.connect(services["DATABASE_URL"], autocommit=True) as admin:  # what a restart does to them
        cut = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE application_name = 'outage-test'").fetchall()
    assert cut

    statuses = []
    for _ in range(4):
        response = client.get(PRODUCTS, headers=customer["headers"])
        if response.status_code != 200:
            assert_unavailable(response)
        statuses.append(response.status_code)

    print(statuses)  # which requests met a cut connection (503) before the pool replaced them
    assert statuses[-1] == 200, statuses  # broken connections are dropped, new ones made: served again
