"""Idempotency-Key on POST orders: a retry gets the first answer and orders nothing new.

The records live in PostgreSQL, written with the order; the race test sends
the same key at once from many threads to a real gunicorn with two worker
processes, so the guarantee checked is the database's, not the GIL's.
"""

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from project import create_app, db
from project.security.auth import issue_token
from project.store.orders import idempotency
from tests.builders import make_product, make_user, sign_in
from tests.problems import assert_problem

ORDERS = "/api/v1/orders"
KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"


def order_count(user=None):
    if user is None:
        return db.fetch_one("SELECT count(*) AS n FROM orders")["n"]
    return db.fetch_one("SELECT count(*) AS n FROM orders WHERE user_id = %s", (user["id"],))["n"]


def stock_of(product):
    return db.fetch_one("SELECT stock FROM products WHERE id = %s", (product["id"],))["stock"]


def body_for(product, quantity=1):
    return {"items": [{"product_id": product["id"], "quantity": quantity}]}


def post(client, who, body, key=KEY):
    headers = dict(who["headers"])
    if key is not None:
        headers[idempotency.HEADER] = key
    return client.post(ORDERS, json=body, headers=headers)


def test_a_retry_with_the_same_key_replays_the_first_answer_and_orders_nothing(client, customer):
    cup = make_product(stock=5)

    first = post(client, customer, body_for(cup, 2))
    retry = post(client, customer, body_for(cup, 2))

    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    assert retry.get_data() == first.get_data()  # byte for byte: the same answer, not a re-rendering
    assert order_count() == 1
    assert stock_of(cup) == 3


def test_the_same_body_in_another_key_order_and_spacing_is_the_same_request(client, customer):
    cup = make_product(stock=5)
    first = post(client, customer, body_for(cup))
    raw = '{ "items" : [ { "quantity": 1, "product_id": %d } ] }' % cup["id"]

    retry = client.post(ORDERS, data=raw, content_type="application/json",
                        headers={**customer["headers"], idempotency.HEADER: KEY})

    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    assert order_count() == 1


def test_the_same_key_with_a_different_body_is_422_and_orders_nothing(client, customer):
    cup = make_product(stock=5)
    post(client, customer, body_for(cup, 1))

    response = post(client, customer, body_for(cup, 2))

    body = assert_problem(response, 422)
    assert body["type"] == "/problems/idempotency-key-mismatch"
    assert order_count() == 1 and stock_of(cup) == 4


def test_keys_are_per_user(client, customer):
    cup = make_product(stock=5)
    other = sign_in(client, email="other@example.com")

    mine, theirs = post(client, customer, body_for(cup)), post(client, other, body_for(cup))

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.get_json()["id"] != theirs.get_json()["id"]
    assert order_count(customer["user"]) == order_count(other["user"]) == 1


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "caf\u00e9", "tab\there", '"unterminated', '""'])
def test_an_invalid_key_is_400_and_orders_nothing(client, customer, key):
    cup = make_product(stock=5)

    response = post(client, customer, body_for(cup), key=key)

    body = assert_problem(response, 400)
    assert body["type"] == "/problems/invalid-idempotency-key"
    assert order_count() == 0


@pytest.mark.parametrize("key", ["a", "x" * 255, "order 42 / try #1", '"quoted \\" key"'])
def test_any_printable_ascii_key_of_1_to_255_characters_is_accepted(client, customer, key):
    cup = make_product(stock=5)

    assert post(client, customer, body_for(cup), key=key).status_code == 201
    assert post(client, customer, body_for(cup), key=key).headers["Idempotent-Replayed"] == "true"
    assert order_count() == 1


def test_a_quoted_key_is_the_same_key_as_its_bare_form(client, customer):
    cup = make_product(stock=5)
    post(client, customer, body_for(cup), key="abc")

    assert post(client, customer, body_for(cup), key='"abc"').headers["Idempotent-Replayed"] == "true"


def test_without_a_key_every_request_places_an_order(client, customer):
    cup = make_product(stock=5)

    answers = [post(client, customer, body_for(cup), key=None) for _ in range(2)]

    assert [a.status_code for a in answers] == [201, 201]
    assert all("Idempotent-Replayed" not in a.headers for a in answers)
    assert order_count() == 2
    assert db.fetch_one("SELECT count(*) AS n FROM idempotency_keys")["n"] == 0


def test_a_failed_first_attempt_is_not_remembered(client, customer):
    cup = make_product(stock=1)
    assert_problem(post(client, customer, body_for(cup, 2)), 409)  # short of stock: nothing taken
    db.fetch_one("UPDATE products SET stock = 5 WHERE id = %s RETURNING id", (cup["id"],))

    retry = post(client, customer, body_for(cup, 2))

    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert order_count() == 1


def test_a_key_expires_after_the_ttl(settings, ctx, customer):
    app = create_app({**settings, "IDEMPOTENCY_TTL_SECONDS": 60})
    client = app.test_client()
    cup = make_product(stock=5)
    first = post(client, customer, body_for(cup))
    assert post(client, customer, body_for(cup, 2)).status_code == 422  # still remembered: another body is refused
    db.fetch_one("UPDATE idempotency_keys SET created_at = now() - interval '61 seconds' RETURNING key")

    again = post(client, customer, body_for(cup, 2))  # expired: the key is free for a new order

    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.get_json()["id"] != first.get_json()["id"]
    assert order_count() == 2
    assert db.fetch_one("SELECT count(*) AS n FROM idempotency_keys")["n"] == 1


def test_the_purge_command_deletes_only_expired_records(app, runner, client, customer):
    cup = make_product(stock=5)
    post(client, customer, body_for(cup), key="old")
    post(client, customer, body_for(cup), key="new")
    db.fetch_one("UPDATE idempotency_keys SET created_at = now() - interval '2 days' WHERE key = 'old' RETURNING key")

    result = runner.invoke(args=["db", "purge-idempotency-keys"])

    assert result.exit_code == 0, result.output
    assert "purged 1 expired idempotency keys" in result.output
    assert [row["key"] for row in db.fetch_all("SELECT key FROM idempotency_keys")] == ["new"]


def test_a_retry_while_the_first_request_is_in_flight_is_409_with_retry_after(client, customer, services):
    cup = make_product(stock=5)
    # Another connection holds the key's lock, as the first request's transaction does while it runs.
    with psycopg.connect(services["DATABASE_URL"]) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (idempotency.lock_id(customer["user"]["id"], KEY),))

        response = post(client, customer, body_for(cup))

    body = assert_problem(response, 409)
    assert body["type"] == "/problems/idempotency-key-in-flight"
    assert response.headers["Retry-After"].isdigit()
    assert order_count() == 0
    assert post(client, customer, body_for(cup)).status_code == 201  # the lock gone, the retry runs


def test_with_redis_down_an_idempotent_order_is_still_placed_once(settings, ctx, customer):
    app = create_app({**settings, "REDIS_URL": "redis://127.0.0.1:1/0"})  # limits and cache fail open
    client = app.test_client()
    cup = make_product(stock=5)

    first, retry = post(client, customer, body_for(cup)), post(client, customer, body_for(cup))

    assert first.status_code == 201, first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.get_json() == first.get_json()
    assert order_count() == 1


def test_the_header_is_documented_on_the_operation(client):
    operation = client.get("/openapi.json").get_json()["paths"][ORDERS]["post"]

    assert idempotency.HEADER in [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
    for status, slug in (("400", "invalid-idempotency-key"), ("409", "idempotency-key-in-flight"),
                         ("422", "idempotency-key-mismatch")):
        assert slug in operation["responses"][status]["content"]["application/problem+json"]["examples"], status
    assert "Retry-After" in operation["responses"]["409"]["headers"]


# --- the same key at once, over real HTTP to two gunicorn workers ------------------------------------------------

def post_json(url, body, token, key):
    """POST ``body`` with a bearer token and an Idempotency-Key; return ``(status, headers, parsed body)``."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={  # noqa: S310
        "Content-Type": "application/json", "Authorization": f"Bearer {token}", idempotency.HEADER: key})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), json.load(error)


def test_the_same_key_sent_at_once_to_two_processes_orders_exactly_once(start_gunicorn, ctx):
    server = start_gunicorn(workers=2, RATELIMIT_ORDERS="1000/minute", RATELIMIT_FREE="1000/minute")
    cup = make_product(stock=100)
    token = issue_token(user_id=make_user()["id"])[0]
    senders = 24
    start = threading.Barrier(senders, timeout=10)

    def send(_):
        start.wait()
        return post_json(f"{server.url}{ORDERS}", body_for(cup), token, KEY)

    with ThreadPoolExecutor(max_workers=senders) as pool:
        answers = list(pool.map(send, range(senders)))

    assert order_count() == 1
    assert stock_of(cup) == 99
    placed = [body for status, headers, body in answers if status == 201]
    assert placed and all(body == placed[0] for body in placed), answers
    assert sum(1 for status, headers, _ in answers if status == 201 and "Idempotent-Replayed" not in headers) == 1
    for status, headers, body in answers:
        assert status in (201, 409), (status, body)
        if status == 409:
            assert body["type"] == "/problems/idempotency-key-in-flight" and headers["Retry-After"].isdigit()
    status, headers, body = post_json(f"{server.url}{ORDERS}", body_for(cup), token, KEY)
    assert (status, headers.get("Idempotent-Replayed"), body) == (201, "true", placed[0])
