"""Orders: placing one takes stock atomically, bad input changes nothing, reads are per owner, no overselling.

The race tests send concurrent orders over real HTTP to gunicorn (several
processes), so the guarantee checked is PostgreSQL's row locking, not the GIL.
"""

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from project import db
from project.security.auth import issue_token
from tests.builders import make_order, make_product, make_user
from tests.problems import assert_problem, error_fields

ORDERS = "/api/v1/orders"


def stock_of(product):
    return db.fetch_one("SELECT stock FROM products WHERE id = %s", (product["id"],))["stock"]


def order_count():
    return db.fetch_one("SELECT count(*) AS n FROM orders")["n"]


def units_sold(product):
    return db.fetch_one("SELECT coalesce(sum(quantity), 0) AS n FROM order_items WHERE product_id = %s",
                        (product["id"],))["n"]


def order_body(*lines):
    """``{"items": [...]}`` for ``(product, quantity)`` pairs."""
    return {"items": [{"product_id": product["id"], "quantity": qty} for product, qty in lines]}




# --- placing an order ---------------------------------------------------------------------------------------------

def test_customer_places_an_order(client, customer):
    cup, pot = make_product(name="Cup", price="9.99", stock=5), make_product(name="Pot", price="24.50", stock=2)

    response = client.post(ORDERS, json=order_body((cup, 3), (pot, 2)), headers=customer["headers"])

    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert isinstance(order["id"], int)
    assert order["status"] == "placed"
    assert order["user_id"] == customer["user"]["id"]
    assert order["total"] == "78.97"  # 3 * 9.99 + 2 * 24.50
    assert datetime.fromisoformat(order["created_at"]).tzinfo is not None
    assert order["items"] == [
        {"product_id": cup["id"], "product_name": "Cup", "quantity": 3, "unit_price": "9.99"},
        {"product_id": pot["id"], "product_name": "Pot", "quantity": 2, "unit_price": "24.50"},
    ]
    assert (stock_of(cup), stock_of(pot)) == (2, 0)
    assert units_sold(cup) == 3


def test_anonymous_cannot_order(client, ctx):
    cup = make_product(stock=5)

    assert_problem(client.post(ORDERS, json=order_body((cup, 1))), 401)

    assert stock_of(cup) == 5
    assert order_count() == 0


BIGINT_OVERFLOW = 2**63


@pytest.mark.parametrize(("items", "status"), [
    pytest.param(None, 422, id="missing items"),
    pytest.param([], 422, id="empty items"),
    pytest.param([{"product_id": "P", "quantity": 0}], 422, id="quantity 0"),
    pytest.param([{"product_id": "P", "quantity": -1}], 422, id="negative quantity"),
    pytest.param([{"product_id": "P", "quantity": 1001}], 422, id="quantity 1001"),
    pytest.param([{"product_id": "P", "quantity": "2"}], 422, id="quantity as string"),
    pytest.param([{"product_id": "P", "quantity": 2.5}], 422, id="fractional quantity"),
    pytest.param([{"product_id": "P"}], 422, id="missing quantity"),
    pytest.param([{"quantity": 1}], 422, id="missing product_id"),
    pytest.param([{"product_id": "abc", "quantity": 1}], 422, id="product_id abc"),
    pytest.param([{"product_id": 0, "quantity": 1}], 422, id="product_id 0"),
    pytest.param([{"product_id": BIGINT_OVERFLOW, "quantity": 1}], 422, id="product_id beyond bigint"),
    pytest.param([{"product_id": "P", "quantity": 1, "colour": "red"}], 422, id="unknown field in a line"),
    pytest.param([{"product_id": "P", "quantity": 1}, {"product_id": "P", "quantity": 2}], 422, id="duplicate product"),
    pytest.param([{"product_id": i, "quantity": 1} for i in range(1, 52)], 422, id="51 lines"),
])
def test_invalid_order_changes_nothing(client, customer, items, status):
    cup = make_product(stock=5)
    body = {} if items is None else {"items": [
        {**line, "product_id": cup["id"]} if line.get("product_id") == "P" else line for line in items]}

    problem = assert_problem(client.post(ORDERS, json=body, headers=customer["headers"]), status)

    assert problem["errors"]
    assert stock_of(cup) == 5
    assert order_count() == 0


def test_unknown_top_level_field_is_refused(client, customer):
    cup = make_product(stock=5)

    problem = assert_problem(client.post(ORDERS, json={**order_body((cup, 1)), "coupon": "FREE"},
                                         headers=customer["headers"]), 422)

    assert "coupon" in error_fields(problem)
    assert stock_of(cup) == 5
    assert order_count() == 0


@pytest.mark.parametrize(("data", "content_type", "status"), [
    pytest.param('{"items": [', "application/json", 400, id="malformed JSON"),
    pytest.param("items=1", "application/x-www-form-urlencoded", 415, id="form body"),
    pytest.param('{"items": []}', "text/plain", 415, id="JSON sent as text"),
])
def test_body_that_is_not_json_is_refused(client, customer, data, content_type, status):
    cup = make_product(stock=5)

    assert_problem(client.post(ORDERS, data=data, content_type=content_type, headers=customer["headers"]), status)

    assert stock_of(cup) == 5
    assert order_count() == 0


def test_unknown_product_is_named_and_nothing_is_taken(client, customer):
    cup = make_product(stock=5)

    problem = assert_problem(client.post(ORDERS, json={"items": [
        {"product_id": cup["id"], "quantity": 1}, {"product_id": 999999, "quantity": 1}]},
        headers=customer["headers"]), 422)

    assert "999999" in json.dumps(problem["errors"])
    assert stock_of(cup) == 5
    assert order_count() == 0


def test_total_beyond_the_column_is_refused_not_a_server_error(client, customer):
    gold = make_product(price="99999999.99", stock=1000)  # 101 of them cost more than numeric(12, 2) holds

    problem = assert_problem(client.post(ORDERS, json=order_body((gold, 101)), headers=customer["headers"]), 422)

    assert "exceeds" in problem["detail"]
    assert stock_of(gold) == 1000
    assert order_count() == 0


def test_insufficient_stock_is_a_conflict_naming_the_product(client, customer):
    cup = make_product(stock=2)

    problem = assert_problem(client.post(ORDERS, json=order_body((cup, 3)), headers=customer["headers"]), 409)

    assert f"product {cup['id']} has 2 left" in problem["detail"]
    assert problem["errors"] == [{"field": "/items/0/quantity", "message": f"Only 2 left of product {cup['id']}.",
                                  "in": "json", "available": 2}]
    assert stock_of(cup) == 2
    assert order_count() == 0


def test_one_short_line_takes_nothing_from_the_others(client, customer):
    plenty, scarce = make_product(stock=10), make_product(stock=1)

    problem = assert_problem(client.post(ORDERS, json=order_body((plenty, 4), (scarce, 2)),
                                         headers=customer["headers"]), 409)

    assert f"product {scarce['id']}" in problem["detail"]
    assert f"product {plenty['id']}" not in problem["detail"]
    assert (stock_of(plenty), stock_of(scarce)) == (10, 1)
    assert order_count() == 0


def test_exactly_the_remaining_stock_can_be_ordered(client, customer):
    cup = make_product(stock=3)

    assert client.post(ORDERS, json=order_body((cup, 3)), headers=customer["headers"]).status_code == 201
    assert_problem(client.post(ORDERS, json=order_body((cup, 1)), headers=customer["headers"]), 409)

    assert stock_of(cup) == 0
    assert order_count() == 1


# --- reading orders -----------------------------------------------------------------------------------------------

@pytest.fixture
def two_customers_orders(customer):
    """The customer's two orders (oldest first) and another customer's one."""
    cup, pot = make_product(price="2.00"), make_product(price="5.00")
    other = make_user()
    mine = [make_order(customer["user"], (cup, 1)), make_order(customer["user"], (cup, 2), (pot, 1))]
    theirs = make_order(other, (pot, 3))
    return {"mine": mine, "theirs": theirs, "other": other}


def test_customer_lists_only_their_orders_newest_first(client, customer, two_customers_orders):
    first, second = two_customers_orders["mine"]

    page = client.get(ORDERS, headers=customer["headers"]).get_json()

    assert page["total"] == 2
    assert [order["id"] for order in page["items"]] == [second["id"], first["id"]]
    assert page["items"][0]["total"] == "9.00"
    assert [(item["quantity"], item["unit_price"]) for item in page["items"][0]["items"]] == [(2, "2.00"), (1, "5.00")]


def test_order_list_is_paginated(client, customer, two_customers_orders):
    first, _ = two_customers_orders["mine"]

    page = client.get(f"{ORDERS}?limit=1&offset=1", headers=customer["headers"]).get_json()

    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 1)
    assert [order["id"] for order in page["items"]] == [first["id"]]


def test_admin_lists_everyones_orders(client, admin, two_customers_orders):
    page = client.get(ORDERS, headers=admin["headers"]).get_json()

    assert page["total"] == 3
    assert page["items"][0]["id"] == two_customers_orders["theirs"]["id"]
    assert {order["user_id"] for order in page["items"]} == {
        two_customers_orders["other"]["id"], two_customers_orders["mine"][0]["user_id"]}


def test_anonymous_cannot_list_orders(client):
    assert_problem(client.get(ORDERS), 401)


def test_owner_and_admin_read_an_order(client, customer, admin, two_customers_orders):
    order = two_customers_orders["mine"][1]

    for headers in (customer["headers"], admin["headers"]):
        response = client.get(f"{ORDERS}/{order['id']}", headers=headers)
        assert response.status_code == 200
        assert response.get_json()["id"] == order["id"]
        assert len(response.get_json()["items"]) == 2


def test_another_customers_order_does_not_exist(client, customer, two_customers_orders):
    problem = assert_problem(client.get(f"{ORDERS}/{two_customers_orders['theirs']['id']}",
                                        headers=customer["headers"]), 404)

    assert "user_id" not in problem


@pytest.mark.parametrize("order_id", ["999999", "abc", "0", "-1", str(BIGINT_OVERFLOW)])
def test_unknown_or_malformed_order_id_is_404(client, customer, order_id):
    assert_problem(client.get(f"{ORDERS}/{order_id}", headers=customer["headers"]), 404)


# --- the oversell race, over real HTTP to gunicorn ----------------------------------------------------------------

def post_json(url, body, token):
    """POST ``body`` as JSON with a bearer token; return ``(status, parsed body)``."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={  # noqa: S310
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - loopback
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


def race(live_server, product, quantities):
    """Send one order per quantity at once, each from its own customer; return the ``(status, body)`` answers."""
    tokens = [issue_token(user_id=make_user()["id"])[0] for _ in quantities]
    start = threading.Barrier(len(quantities), timeout=10)

    def order(token, quantity):
        start.wait()
        return post_json(f"{live_server}{ORDERS}", order_body((product, quantity)), token)

    with ThreadPoolExecutor(max_workers=len(quantities)) as pool:
        return list(pool.map(order, tokens, quantities))


def test_concurrent_orders_never_oversell(live_server, ctx):
    cup = make_product(stock=10)

    answers = race(live_server, cup, [1] * 40)

    statuses = [status for status, _ in answers]
    assert set(statuses) <= {201, 409}, statuses
    assert statuses.count(201) == 10
    assert statuses.count(409) == 30
    assert stock_of(cup) == 0
    assert units_sold(cup) == 10
    assert order_count() == 10


def test_concurrent_orders_of_mixed_quantities_never_oversell(live_server, ctx):
    cup = make_product(stock=10)

    answers = race(live_server, cup, [2, 3] * 20)

    assert {status for status, _ in answers} <= {201, 409}, answers
    sold = sum(body["items"][0]["quantity"] for status, body in answers if status == 201)
    assert 0 < sold <= 10
    assert units_sold(cup) == sold
    assert stock_of(cup) + sold == 10
    # Twenty orders of 2 ask for 40 units: some were refused, so less than 2 can be left.
    assert stock_of(cup) < 2
