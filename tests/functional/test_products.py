"""The product catalogue: ``/api/v1/products``.

Anyone may list and read products (paginated, filtered, searched, sorted);
only admins may create, change or delete them. Prices travel as decimal
strings, names are unique regardless of case, and a bad id in the path is a
404, never a database error.
"""

import pytest

from project import db
from tests.builders import make_product
from tests.problems import assert_problem, error_fields

PRODUCTS = "/api/v1/products"
NEW = {"name": "Espresso cup", "description": "Porcelain, 90 ml.", "category": "kitchen", "price": "9.99",
       "stock": 25}


def url(product_id):
    return f"{PRODUCTS}/{product_id}"




def listing(client, **query):
    """GET the list with ``query``; assert 200 and return the body."""
    response = client.get(PRODUCTS, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def names(client, **query):
    return [item["name"] for item in listing(client, **query)["items"]]


def stored(product_id):
    """The product row as the database holds it, or None."""
    return db.fetch_one("SELECT name, description, category, price, stock FROM products WHERE id = %s",
                        (product_id,))


def product_count():
    return db.fetch_one("SELECT count(*) AS n FROM products")["n"]


# --- list ------------------------------------------------------------------


def test_empty_catalogue(client):
    assert listing(client) == {"items": [], "total": 0, "limit": 20, "offset": 0}


def test_list_shows_products_with_string_prices(client, ctx):
    product = make_product(name="Mug", price="9.9", stock=3, description="Big.")

    assert listing(client)["items"] == [
        {"id": product["id"], "name": "Mug", "description": "Big.", "category": "kitchen", "price": "9.90",
         "stock": 3},
    ]


def test_list_paginates(client, ctx):
    ids = [make_product()["id"] for _ in range(5)]

    page = listing(client, limit=2, offset=2)

    assert [item["id"] for item in page["items"]] == ids[2:4]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 2)


def test_list_past_the_end_is_empty_but_keeps_the_total(client, ctx):
    make_product()

    page = listing(client, offset=10)

    assert page["items"] == []
    assert page["total"] == 1


def test_list_accepts_the_largest_limit(client, ctx):
    for _ in range(3):
        make_product()

    assert len(listing(client, limit=100)["items"]) == 3


def test_list_filters_by_category(client, ctx):
    make_product(name="Cup", category="kitchen")
    make_product(name="Lamp", category="living")
    make_product(name="Pan", category="kitchen")

    page = listing(client, category="kitchen")

    assert [item["name"] for item in page["items"]] == ["Cup", "Pan"]
    assert page["total"] == 2


def test_search_is_case_insensitive_and_matches_inside_names(client, ctx):
    make_product(name="Espresso Cup")
    make_product(name="cupboard")
    make_product(name="Teapot")

    page = listing(client, q="CUP")

    assert [item["name"] for item in page["items"]] == ["Espresso Cup", "cupboard"]
    assert page["total"] == 2


@pytest.mark.parametrize(
    ("q", "expected"),
    [("%", ["100% cotton"]), ("_", ["snake_case"]), ("0%", ["100% cotton"]), ("\\", ["back\\slash"])],
)
def test_search_wildcards_are_literal(client, ctx, q, expected):
    for name in ("100% cotton", "cotton", "snake_case", "snakeXcase", "back\\slash"):
        make_product(name=name)

    assert names(client, q=q) == expected


def test_search_combines_with_category(client, ctx):
    make_product(name="Cup", category="kitchen")
    make_product(name="Cup holder", category="car")

    assert names(client, q="cup", category="car") == ["Cup holder"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("id", ["banana", "Apple", "cherry"]),
        ("-id", ["cherry", "Apple", "banana"]),
        ("name", ["Apple", "banana", "cherry"]),
        ("-name", ["cherry", "banana", "Apple"]),
        ("price", ["cherry", "Apple", "banana"]),
        ("-price", ["banana", "Apple", "cherry"]),
    ],
)
def test_list_sorts(client, ctx, sort, expected):
    make_product(name="banana", price="30.00")
    make_product(name="Apple", price="20.00")
    make_product(name="cherry", price="3.00")

    assert names(client, sort=sort) == expected


def test_price_sort_is_numeric_not_textual(client, ctx):
    make_product(name="ten", price="10.00")
    make_product(name="nine", price="9.00")

    assert names(client, sort="price") == ["nine", "ten"]


def test_equal_prices_sort_by_id(client, ctx):
    make_product(name="b", price="5.00")
    make_product(name="a", price="5.00")

    assert names(client, sort="price") == ["b", "a"]
    assert names(client, sort="-price") == ["a", "b"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": -1}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"sort": "stock"}, "sort"),
        ({"sort": "bogus"}, "sort"),
        ({"sort": "--price"}, "sort"),
        ({"q": ""}, "q"),
        ({"q": "x" * 101}, "q"),
        ({"category": ""}, "category"),
        ({"q": "cup\x00"}, "q"),
        ({"category": "kitchen\x00"}, "category"),
    ],
)
def test_list_rejects_invalid_query_arguments(client, query, field):
    body = assert_problem(client.get(PRODUCTS, query_string=query), 422)

    assert field in error_fields(body)


# --- get one ---------------------------------------------------------------


def test_get_one(client, ctx):
    product = make_product(name="Mug", price="12.50")

    response = client.get(url(product["id"]))

    assert response.status_code == 200
    assert response.get_json() == {"id": product["id"], "name": "Mug", "description": "", "category": "kitchen",
                                   "price": "12.50", "stock": 10}


@pytest.mark.parametrize(
    "product_id",
    ["12345", "abc", "0", "-1", "1.5", "99999999999999999999", "9223372036854775807", "9223372036854775808"],
)
def test_get_missing_or_malformed_id_is_404(client, ctx, product_id):
    make_product()

    body = assert_problem(client.get(url(product_id)), 404)

    assert body["instance"] == url(product_id)


def test_get_one_sends_problem_details_for_unknown_id(client):
    body = assert_problem(client.get(url(7)), 404)

    assert body["type"] == "/problems/not-found"
    assert "7" in body["detail"]


# --- create ----------------------------------------------------------------


def test_admin_creates_a_product(client, admin):
    response = client.post(PRODUCTS, json=NEW, headers=admin["headers"])

    assert response.status_code == 201
    created = response.get_json()
    assert created == {"id": created["id"], **NEW}
    assert client.get(url(created["id"])).get_json() == created
    assert names(client) == ["Espresso cup"]


def test_create_defaults_the_description(client, admin):
    new = {key: value for key, value in NEW.items() if key != "description"}

    created = client.post(PRODUCTS, json=new, headers=admin["headers"]).get_json()

    assert created["description"] == ""


def test_create_accepts_a_numeric_price_and_keeps_two_places(client, admin):
    created = client.post(PRODUCTS, json={**NEW, "price": 10}, headers=admin["headers"]).get_json()

    assert created["price"] == "10.00"
    assert str(stored(created["id"])["price"]) == "10.00"


def test_create_accepts_a_200_character_name(client, admin):
    assert client.post(PRODUCTS, json={**NEW, "name": "n" * 200}, headers=admin["headers"]).status_code == 201


def test_anonymous_cannot_create(client, ctx):
    response = client.post(PRODUCTS, json=NEW)

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert product_count() == 0


def test_customer_cannot_create(client, customer):
    body = assert_problem(client.post(PRODUCTS, json=NEW, headers=customer["headers"]), 403)

    assert body["type"] == "/problems/forbidden"
    assert product_count() == 0


def test_customer_is_refused_even_after_an_admin_request(client, admin, customer):
    assert client.post(PRODUCTS, json=NEW, headers=admin["headers"]).status_code == 201

    assert_problem(client.post(PRODUCTS, json={**NEW, "name": "Other"}, headers=customer["headers"]), 403)
    assert_problem(client.post(PRODUCTS, json={**NEW, "name": "Other"}), 401)
    assert product_count() == 1


INVALID = [
    pytest.param({"price": "-0.01"}, "price", id="negative-price"),
    pytest.param({"price": "abc"}, "price", id="price-abc"),
    pytest.param({"price": "NaN"}, "price", id="price-nan"),
    pytest.param({"price": "Infinity"}, "price", id="price-infinity"),
    pytest.param({"price": 1e12}, "price", id="price-1e12"),
    pytest.param({"price": "100000000.00"}, "price", id="price-over-numeric-10-2"),
    pytest.param({"price": None}, "price", id="price-null"),
    pytest.param({"price": "9.999"}, "price", id="price-three-places-not-rounded"),
    pytest.param({"stock": -1}, "stock", id="negative-stock"),
    pytest.param({"stock": "5"}, "stock", id="stock-string"),
    pytest.param({"stock": 5.5}, "stock", id="stock-float"),
    pytest.param({"stock": 2**31}, "stock", id="stock-over-integer"),
    pytest.param({"name": "n" * 201}, "name", id="name-201-chars"),
    pytest.param({"name": ""}, "name", id="name-empty"),
    pytest.param({"name": "   "}, "name", id="name-blank"),
    pytest.param({"category": " \t"}, "category", id="category-blank"),
    pytest.param({"name": "Cup\x07"}, "name", id="name-with-control-character"),
    pytest.param({"category": ""}, "category", id="category-empty"),
    pytest.param({"description": "d" * 2001}, "description", id="description-too-long"),
    pytest.param({"name": "Cup\x00"}, "name", id="name-with-nul"),
    pytest.param({"category": "\x00"}, "category", id="category-with-nul"),
    pytest.param({"description": "a\x00b"}, "description", id="description-with-nul"),
    pytest.param({"id": 99}, "id", id="id-is-read-only"),
    pytest.param({"colour": "red"}, "colour", id="unknown-field"),
]


@pytest.mark.parametrize(("change", "field"), INVALID)
def test_create_rejects_invalid_fields(client, admin, change, field):
    body = assert_problem(client.post(PRODUCTS, json={**NEW, **change}, headers=admin["headers"]), 422)

    assert field in error_fields(body)
    assert product_count() == 0


@pytest.mark.parametrize("field", ["name", "category", "price", "stock"])
def test_create_requires_fields(client, admin, field):
    new = {key: value for key, value in NEW.items() if key != field}

    body = assert_problem(client.post(PRODUCTS, json=new, headers=admin["headers"]), 422)

    assert field in error_fields(body)


def test_create_rejects_a_nan_json_literal(client, admin):
    data = '{"name": "Cup", "category": "kitchen", "price": NaN, "stock": 1}'

    response = client.post(PRODUCTS, data=data, content_type="application/json", headers=admin["headers"])

    assert "price" in error_fields(assert_problem(response, 422))
    assert product_count() == 0


@pytest.mark.parametrize("name", ["Espresso cup", "ESPRESSO CUP"])
def test_create_duplicate_name_is_a_conflict(client, admin, name):
    make_product(name="Espresso cup")

    body = assert_problem(client.post(PRODUCTS, json={**NEW, "name": name}, headers=admin["headers"]), 409)

    assert body["type"] == "/problems/conflict"
    assert product_count() == 1


# --- update ----------------------------------------------------------------


def test_admin_updates_some_fields(client, admin):
    product = make_product(name="Mug", price="5.00", stock=4, description="Keep me.")

    response = client.patch(url(product["id"]), json={"price": "6.50", "stock": 9}, headers=admin["headers"])

    assert response.status_code == 200
    expected = {"id": product["id"], "name": "Mug", "description": "Keep me.", "category": "kitchen",
                "price": "6.50", "stock": 9}
    assert response.get_json() == expected
    assert client.get(url(product["id"])).get_json() == expected


def test_admin_renames_in_a_new_case(client, admin):
    product = make_product(name="mug")

    response = client.patch(url(product["id"]), json={"name": "Mug"}, headers=admin["headers"])

    assert response.status_code == 200
    assert stored(product["id"])["name"] == "Mug"


def test_empty_patch_is_422(client, admin):
    product = make_product()

    assert_problem(client.patch(url(product["id"]), json={}, headers=admin["headers"]), 422)


@pytest.mark.parametrize(("change", "field"), INVALID)
def test_patch_rejects_invalid_fields(client, admin, change, field):
    product = make_product()
    before = stored(product["id"])

    body = assert_problem(client.patch(url(product["id"]), json=change, headers=admin["headers"]), 422)

    assert field in error_fields(body)
    assert stored(product["id"]) == before


@pytest.mark.parametrize("name", ["Teapot", "TEAPOT"])
def test_patch_to_a_taken_name_is_a_conflict(client, admin, name):
    make_product(name="Teapot")
    mug = make_product(name="Mug")

    assert_problem(client.patch(url(mug["id"]), json={"name": name}, headers=admin["headers"]), 409)
    assert stored(mug["id"])["name"] == "Mug"


@pytest.mark.parametrize("product_id", ["12345", "abc", "0", "99999999999999999999"])
def test_patch_unknown_id_is_404(client, admin, product_id):
    assert_problem(client.patch(url(product_id), json={"stock": 1}, headers=admin["headers"]), 404)


def test_anonymous_cannot_patch(client, ctx):
    product = make_product(stock=4)

    assert_problem(client.patch(url(product["id"]), json={"stock": 0}), 401)
    assert stored(product["id"])["stock"] == 4


def test_customer_cannot_patch(client, customer):
    product = make_product(stock=4)

    assert_problem(client.patch(url(product["id"]), json={"stock": 0}, headers=customer["headers"]), 403)
    assert stored(product["id"])["stock"] == 4


# --- delete ----------------------------------------------------------------


def test_admin_deletes_a_product(client, admin):
    product = make_product()

    response = client.delete(url(product["id"]), headers=admin["headers"])

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_problem(client.get(url(product["id"])), 404)
    assert_problem(client.delete(url(product["id"]), headers=admin["headers"]), 404)


@pytest.mark.parametrize("product_id", ["12345", "abc", "0", "99999999999999999999"])
def test_delete_unknown_id_is_404(client, admin, product_id):
    assert_problem(client.delete(url(product_id), headers=admin["headers"]), 404)


def test_anonymous_cannot_delete(client, ctx):
    product = make_product()

    assert_problem(client.delete(url(product["id"])), 401)
    assert stored(product["id"]) is not None


def test_customer_cannot_delete(client, customer):
    product = make_product()

    assert_problem(client.delete(url(product["id"]), headers=customer["headers"]), 403)
    assert stored(product["id"]) is not None


def test_deleting_an_ordered_product_keeps_the_order_line(client, admin, customer):
    product = make_product(name="Mug", price="4.25", stock=5)
    order = client.post("/api/v1/orders", json={"items": [{"product_id": product["id"], "quantity": 2}]},
                        headers=customer["headers"])
    assert order.status_code == 201, order.get_json()

    assert client.delete(url(product["id"]), headers=admin["headers"]).status_code == 204

    response = client.get(f"/api/v1/orders/{order.get_json()['id']}", headers=customer["headers"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == "8.50"
    assert body["items"] == [{"product_id": None, "product_name": "Mug", "quantity": 2, "unit_price": "4.25"}]


def test_renaming_an_ordered_product_keeps_the_order_line(client, admin, customer):
    product = make_product(name="Mug", price="4.25", stock=5)
    client.post("/api/v1/orders", json={"items": [{"product_id": product["id"], "quantity": 1}]},
                headers=customer["headers"])

    renamed = client.patch(url(product["id"]), json={"name": "Cup", "price": "9.00"}, headers=admin["headers"])
    assert renamed.status_code == 200

    line = client.get("/api/v1/orders", headers=customer["headers"]).get_json()["items"][0]["items"][0]
    assert (line["product_name"], line["unit_price"]) == ("Mug", "4.25")
