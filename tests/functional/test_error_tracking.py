"""Error tracking: every failure is a documented RFC 9457 problem, logged once under its reference ID.

Each error class answers complete ``application/problem+json`` whose ``type``
is served at ``/problems/<slug>``; a 4xx logs one ``request_rejected`` line,
an unexpected exception one ERROR line with its stack trace (and the client
learns nothing internal), and a 5xx leaves no half-written data behind.
"""

import json
import re

import pytest

from project import create_app, db
from project.store.products import repository as products
from tests.builders import make_product
from tests.logs import captured_log_lines
from tests.problems import assert_problem

PRODUCTS = "/api/v1/products"
TOKEN = "/api/v1/auth/token"
REFERENCE_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2}$")
NEW_PRODUCT = {"name": "Cup", "category": "kitchen", "price": "9.99", "stock": 1}


def log_lines(capsys):
    """The JSON log lines written to stdout since the last call."""
    return captured_log_lines(capsys)


def lines_mentioning(lines, text):
    return [line for line in lines if text in json.dumps(line)]


def assert_documented(client, body):
    """The problem's ``type`` is served, with the same title and status."""
    documented = client.get(body["type"])
    assert documented.status_code == 200
    assert (documented.get_json()["title"], documented.get_json()["status"]) == (body["title"], body["status"])


def duplicate_product(client, users):
    make_product(name="Cup")
    return client.post(PRODUCTS, json=NEW_PRODUCT, headers=users["admin"]["headers"])


def bad_quantity(client, users):
    order = {"items": [{"product_id": 1, "quantity": 0}]}
    return client.post("/api/v1/orders", json=order, headers=users["customer"]["headers"])


# (status, slug, how to provoke it, a header the answer must carry as (name, text it contains))
CASES = [
    pytest.param(400, "bad-request", lambda c, u: c.post(TOKEN, data="{", content_type="application/json"), None,
                 id="malformed-json"),
    pytest.param(401, "authentication-required", lambda c, u: c.post(PRODUCTS, json=NEW_PRODUCT),
                 ("WWW-Authenticate", "Bearer"), id="no-token"),
    pytest.param(403, "forbidden", lambda c, u: c.post(PRODUCTS, json=NEW_PRODUCT, headers=u["customer"]["headers"]),
                 None, id="not-admin"),
    pytest.param(404, "not-found", lambda c, u: c.get("/nope"), None, id="unknown-route"),
    pytest.param(404, "not-found", lambda c, u: c.get(f"{PRODUCTS}/999999"), None, id="unknown-resource"),
    pytest.param(405, "method-not-allowed", lambda c, u: c.put(PRODUCTS), ("Allow", "GET"), id="wrong-method"),
    pytest.param(409, "conflict", duplicate_product, None, id="duplicate-name"),
    pytest.param(413, "payload-too-large", lambda c, u: c.post(TOKEN, json={"email": "x" * 70_000}), None,
                 id="body-too-large"),
    pytest.param(415, "unsupported-media-type", lambda c, u: c.post(TOKEN, data="email=a", content_type="text/plain"),
                 None, id="not-json"),
    pytest.param(422, "validation-error", bad_quantity, None, id="invalid-field"),
    pytest.param(422, "validation-error", lambda c, u: c.get(f"{PRODUCTS}?limit=0"), None, id="invalid-query"),
]


@pytest.mark.parametrize(("status", "slug", "send", "header"), CASES)
def test_client_errors_are_documented_problems_logged_once(client, admin, customer, capsys,
                                                           status, slug, send, header):
    log_lines(capsys)  # forget the sign-ins' lines

    response = send(client, {"admin": admin, "customer": customer})

    body = assert_problem(response, status)
    assert body["type"] == f"/problems/{slug}"
    assert_documented(client, body)
    if header:
        assert header[1] in response.headers[header[0]]
    logged = lines_mentioning(log_lines(capsys), body["reference_id"])
    assert [(line["message"], line["status"], line["request_id"]) for line in logged] == [
        ("request_rejected", status, body["request_id"])]


def test_validation_errors_point_at_each_field(client, customer):
    body = assert_problem(bad_quantity(client, {"customer": customer}), 422)
    assert [{**error, "message": "..."} for error in body["errors"]] == [
        {"field": "/items/0/quantity", "message": "...", "in": "json"}]
    assert body["errors"][0]["message"]

    body = assert_problem(client.get(f"{PRODUCTS}?limit=0"), 422)
    assert [(error["field"], error["in"]) for error in body["errors"]] == [("/limit", "query")]


@pytest.fixture
def broken_app(settings, tmp_path):
    """An app whose PostgreSQL is unreachable (a socket directory with no server in it)."""
    app = create_app({**settings, "DATABASE_URL": f"postgresql:///store?host={tmp_path}&connect_timeout=1",
                      "DB_POOL_TIMEOUT": 0.5})
    yield app
    app.extensions["db"].close()  # stop its pool's reconnect attempts


def test_database_unreachable_is_a_documented_503(broken_app, client):
    response = broken_app.test_client().get(PRODUCTS)

    body = assert_problem(response, 503)
    assert body["type"] == "/problems/service-unavailable"
    assert response.headers["Retry-After"].isdigit()
    assert_documented(client, body)


def test_reference_ids_are_short_readable_and_distinct(client):
    references = [client.get("/nope").get_json()["reference_id"] for _ in range(20)]

    assert all(REFERENCE_ID.match(reference) for reference in references), references
    assert len(set(references)) == len(references)


@pytest.fixture
def buggy_app(settings):
    """A fresh app with routes that fail the way bugs do."""
    app = create_app(settings)

    @app.route("/explode")
    def explode():
        raise RuntimeError("internal detail: table users_v2 missing")

    @app.route("/half-written", methods=["POST"])
    def half_written():
        with db.transaction() as conn:
            products.create_product(name="Half written", description="", category="kitchen", price=1, stock=1,
                                    conn=conn)
            raise RuntimeError("failed after the insert")

    yield app
    app.extensions["db"].close()


def test_unexpected_error_is_a_generic_500_logged_once_with_its_trace(buggy_app, capsys):
    log_lines(capsys)

    response = buggy_app.test_client().get("/explode")

    body = assert_problem(response, 500)
    assert body["type"] == "/problems/internal-error"
    assert body["detail"].startswith("An unexpected error occurred.")
    assert "users_v2" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    [line] = lines_mentioning(log_lines(capsys), body["reference_id"])
    assert line["level"] == "ERROR"
    assert line["request_id"] == body["request_id"]
    assert "Traceback" in line["exception"]["stacktrace"]
    assert "RuntimeError" in line["exception"]["type"]


def test_a_500_rolls_back_what_the_request_wrote(buggy_app, ctx):
    response = buggy_app.test_client().post("/half-written")

    assert_problem(response, 500)
    assert db.fetch_one("SELECT id FROM products WHERE name = %s", ("Half written",)) is None
