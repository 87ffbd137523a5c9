"""The response cache on real Valkey and PostgreSQL: hits, invalidation, stampedes, warming, HTTP caching, outages.

Queries are counted with the database instrumentation's own histogram
(``db_query_duration_seconds_count{statement="products.get_product"}``) or a
counting wrapper around the repository; lookups with ``cache_requests_total``.
"""

import threading
import urllib.request

import pytest
import redis
from prometheus_client import REGISTRY

from project import caching, create_app
from project.devservices import start_valkey
from project.store.products import repository
from tests.builders import make_product

PRODUCTS = "/api/v1/products"


def cache_count(cache, result):
    return REGISTRY.get_sample_value("cache_requests_total", {"cache": cache, "result": result}) or 0.0


def queries(statement="products.get_product"):
    return REGISTRY.get_sample_value("db_query_duration_seconds_count", {"statement": statement}) or 0.0


def entries(settings):
    """The cached entries (not versions, views or locks) in Redis."""
    client = redis.Redis.from_url(settings["REDIS_URL"])
    return [key for key in client.keys("*:cache:*") if b":cache:v:" not in key and b":views:" not in key
            and not key.endswith(b":lock") and not key.endswith(b"health")]


def test_a_second_read_is_a_hit_served_without_the_database(client, ctx):
    product = make_product(name="Mug")
    first = client.get(f"{PRODUCTS}/{product['id']}")
    hits, asked = cache_count("product", "hit"), queries()

    second = client.get(f"{PRODUCTS}/{product['id']}")

    assert second.status_code == 200 and second.get_json() == first.get_json()
    assert second.get_json()["name"] == "Mug"
    assert cache_count("product", "hit") == hits + 1
    assert queries() == asked  # no query: the body came from Redis
    assert second.headers["ETag"] == first.headers["ETag"] and second.headers["ETag"].startswith('"')
    assert second.headers["Cache-Control"] == "public, max-age=30"
    assert second.mimetype == "application/json"
    assert second.headers["X-Request-ID"] != first.headers["X-Request-ID"]  # headers are per request, never cached


def test_list_keys_use_the_normalised_query_string(client, ctx):
    make_product(name="Bowl", category="kitchen")
    make_product(name="Pen", category="stationery")
    assert client.get(PRODUCTS).status_code == 200
    hits, misses = cache_count("products", "hit"), cache_count("products", "miss")

    # Defaults spelt out, unknown arguments and order do not make new keys; a real filter does.
    assert client.get(f"{PRODUCTS}?limit=20&offset=0&junk=1").status_code == 200
    kitchen = client.get(f"{PRODUCTS}?sort=id&category=kitchen")
    again = client.get(f"{PRODUCTS}?category=kitchen&sort=id&utm=x")

    assert [item["name"] for item in kitchen.get_json()["items"]] == ["Bowl"]
    assert again.get_json() == kitchen.get_json()
    assert cache_count("products", "hit") == hits + 2
    assert cache_count("products", "miss") == misses + 1


def test_signed_in_callers_get_the_public_body_and_nothing_of_theirs_is_stored(client, ctx, settings, customer):
    product = make_product(name="Lamp")
    signed_in = client.get(f"{PRODUCTS}/{product['id']}", headers=customer["headers"])
    anonymous = client.get(f"{PRODUCTS}/{product['id']}")

    assert signed_in.status_code == anonymous.status_code == 200
    assert signed_in.get_data() == anonymous.get_data()
    assert signed_in.headers["ETag"] == anonymous.headers["ETag"]
    stored = redis.Redis.from_url(settings["REDIS_URL"]).mget(entries(settings))
    assert stored and all(customer["token"].encode() not in blob and b"customer@example.com" not in blob
                          for blob in stored)


def test_error_answers_are_never_cached(client, ctx, settings):
    asked = queries()
    for _ in range(2):
        assert client.get(f"{PRODUCTS}/424242").status_code == 404
    assert client.get(f"{PRODUCTS}?limit=0").status_code == 422

    assert queries() == asked + 2  # each 404 went to the database
    assert entries(settings) == []


def test_an_update_through_one_process_is_seen_by_every_worker_of_another(start_gunicorn, client, ctx, admin):
    product = make_product(name="Kettle", stock=5)
    server = start_gunicorn(workers=2)

    def read():
        with urllib.request.urlopen(f"{server.url}{PRODUCTS}/{product['id']}", timeout=10) as answer:  # noqa: S310
            import json

            return json.loads(answer.read())

    assert {read()["name"] for _ in range(12)} == {"Kettle"}  # both workers have read (and cached) it
    changed = client.patch(f"{PRODUCTS}/{product['id']}", json={"name": "Gooseneck kettle", "stock": 4},
                           headers=admin["headers"])
    assert changed.status_code == 200

    assert [(body["name"], body["stock"]) for body in (read() for _ in range(12))] == [("Gooseneck kettle", 4)] * 12


def test_twenty_concurrent_misses_on_one_key_make_one_query(app, ctx, monkeypatch):
    product = make_product(name="Hot item")
    calls, entered = [], threading.Event()
    real = repository.get_product

    def slow_get_product(**kwargs):
        calls.append(kwargs)
        entered.set()
        threading.Event().wait(0.3)  # long enough for every other request to miss and wait
        return real(**kwargs)

    monkeypatch.setattr(repository, "get_product", slow_get_product)
    waits_before = REGISTRY.get_sample_value("cache_lock_waits_total", {"cache": "product", "outcome": "filled"}) or 0
    start, answers = threading.Barrier(20), []

    def request():
        start.wait()
        answers.append(app.test_client().get(f"{PRODUCTS}/{product['id']}"))

    threads = [threading.Thread(target=request) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(calls) == 1
    assert [answer.status_code for answer in answers] == [200] * 20
    assert len({answer.get_data() for answer in answers}) == 1
    waited = REGISTRY.get_sample_value("cache_lock_waits_total", {"cache": "product", "outcome": "filled"})
    assert waited - waits_before >= 1  # some of them waited for the fill rather than querying


def test_a_miss_does_not_wait_for_a_dead_lock_holder_past_the_lock_time(settings, services):
    app = create_app({**settings, "CACHE_LOCK_SECONDS": 0.3})
    with app.app_context():
        product = make_product(name="Orphan")
        store = app.extensions["caching"].store
        entry = f"product:{product['id']}:"
        tag, _, _ = store.lookup(("catalogue", f"product:{product['id']}"), entry)
        # A worker took the fill lock and was killed: the lock stays until it expires.
        store.client.set(store.prefix + entry + tag + ":lock", "dead-worker", px=300)
        abandoned = REGISTRY.get_sample_value("cache_lock_waits_total", {"cache": "product", "outcome": "abandoned"})
        timed_out = REGISTRY.get_sample_value("cache_lock_waits_total", {"cache": "product", "outcome": "timeout"})

        answer = app.test_client().get(f"{PRODUCTS}/{product['id']}")

        assert answer.status_code == 200 and answer.get_json()["name"] == "Orphan"
        after = (REGISTRY.get_sample_value("cache_lock_waits_total", {"cache": "product", "outcome": "abandoned"})
                 or 0) + (REGISTRY.get_sample_value("cache_lock_waits_total", {"cache": "product",
                                                                                "outcome": "timeout"}) or 0)
        assert after == (abandoned or 0) + (timed_out or 0) + 1
        assert app.test_client().get(f"{PRODUCTS}/{product['id']}").get_json()["name"] == "Orphan"


def test_the_warm_command_fills_the_most_viewed_products(client, ctx, runner, settings):
    popular, other, unseen = make_product(name="Popular"), make_product(name="Other"), make_product(name="Unseen")
    for product, views in ((popular, 3), (other, 1)):
        for _ in range(views):
            assert client.get(f"{PRODUCTS}/{product['id']}").status_code == 200
    caching.clear_all()  # as after a deploy: nothing cached for this release
    assert client.application.extensions["caching"].store.most_viewed(2) == [popular["id"], other["id"]]

    result = runner.invoke(args=["cache", "warm", "--top", "1"])

    assert result.exit_code == 0, result.output
    assert "1 most viewed products: 2 entries filled" in result.output  # the product and the first list page
    hits, asked = cache_count("product", "hit"), queries()
    assert client.get(f"{PRODUCTS}/{popular['id']}").get_json()["name"] == "Popular"
    assert client.get(PRODUCTS).status_code == 200
    assert cache_count("product", "hit") == hits + 1 and queries() == asked
    assert client.get(f"{PRODUCTS}/{other['id']}").status_code == 200
    assert queries() == asked + 1  # not in the top 1: not warmed
    assert unseen["id"] not in client.application.extensions["caching"].store.most_viewed(10)


def test_warm_cache_skips_deleted_products_and_is_the_scheduled_function(client, ctx, admin):
    from project.tasks import registry

    gone = make_product(name="Gone")
    assert client.get(f"{PRODUCTS}/{gone['id']}").status_code == 200
    assert client.delete(f"{PRODUCTS}/{gone['id']}", headers=admin["headers"]).status_code == 204

    assert caching.warm_cache(top=5) == {"products": 1, "filled": 1, "missing": 1}
    assert registry.CACHE_WARM.func == "project.caching.warm_cache"  # what the periodic job imports


def test_conditional_gets_answer_304_until_the_product_changes(client, ctx, admin):
    product = make_product(name="Notebook")
    first = client.get(f"{PRODUCTS}/{product['id']}")
    etag = first.headers["ETag"]

    unchanged = client.get(f"{PRODUCTS}/{product['id']}", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert unchanged.headers["ETag"] == etag and unchanged.headers["Cache-Control"].startswith("public")
    listed = client.get(PRODUCTS)
    assert client.get(PRODUCTS, headers={"If-None-Match": f'"other", {listed.headers["ETag"]}'}).status_code == 304

    assert client.patch(f"{PRODUCTS}/{product['id']}", json={"name": "Dotted notebook"},
                        headers=admin["headers"]).status_code == 200
    changed = client.get(f"{PRODUCTS}/{product['id']}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["name"] == "Dotted notebook"
    assert changed.headers["ETag"] != etag
    relisted = client.get(PRODUCTS, headers={"If-None-Match": listed.headers["ETag"]})
    assert relisted.status_code == 200 and relisted.get_json()["items"][0]["name"] == "Dotted notebook"


def test_an_order_refreshes_the_cached_stock(client, ctx, customer):
    product = make_product(name="Socks", stock=10)
    assert client.get(f"{PRODUCTS}/{product['id']}").get_json()["stock"] == 10
    assert client.get(PRODUCTS).get_json()["items"][0]["stock"] == 10

    placed = client.post("/api/v1/orders", json={"items": [{"product_id": product["id"], "quantity": 3}]},
                         headers=customer["headers"])

    assert placed.status_code == 201, placed.get_json()
    assert client.get(f"{PRODUCTS}/{product['id']}").get_json()["stock"] == 7
    assert client.get(PRODUCTS).get_json()["items"][0]["stock"] == 7


def test_created_and_deleted_products_show_in_cached_lists(client, ctx, admin):
    assert client.get(PRODUCTS).get_json()["total"] == 0
    created = client.post(PRODUCTS, json={"name": "Tray", "category": "home", "price": "5.00", "stock": 1},
                          headers=admin["headers"])
    assert created.status_code == 201
    assert client.get(PRODUCTS).get_json()["total"] == 1
    assert client.delete(f"{PRODUCTS}/{created.get_json()['id']}", headers=admin["headers"]).status_code == 204
    assert client.get(PRODUCTS).get_json()["total"] == 0
    assert client.get(f"{PRODUCTS}/{created.get_json()['id']}").status_code == 404


def test_the_cache_is_a_health_component(client, ctx, admin):
    details = client.get("/health/details", headers=admin["headers"]).get_json()
    assert details["components"]["cache"]["status"] == "UP"
    assert details["components"]["cache"]["critical"] is False


@pytest.fixture
def outage_app(app, settings):
    """An app whose Redis is a throw-away Valkey of its own; ``app.stop_redis()`` takes it down."""
    server, url = start_valkey()
    stopped = []

    def stop_redis():
        if not stopped:
            stopped.append(server.stop())

    outage = create_app({**settings, "REDIS_URL": url, "HEALTH_TOKEN": "health-token-for-tests",
                         "HEALTH_CACHE_SECONDS": 0.0, "BREAKER_CACHE_FAILURE_THRESHOLD": 2})
    outage.stop_redis = stop_redis
    yield outage
    stop_redis()


def test_a_redis_outage_serves_reads_from_the_database_and_counts_the_bypass(outage_app):
    with outage_app.app_context():
        product = make_product(name="Resilient")
    client = outage_app.test_client()
    assert client.get(f"{PRODUCTS}/{product['id']}").status_code == 200  # cached while Redis is up
    errors, bypasses, asked = cache_count("product", "error"), cache_count("product", "bypass"), queries()

    outage_app.stop_redis()
    answers = [client.get(f"{PRODUCTS}/{product['id']}") for _ in range(6)]
    listing = client.get(PRODUCTS)

    assert [answer.status_code for answer in answers] == [200] * 6
    assert {answer.get_json()["name"] for answer in answers} == {"Resilient"}
    assert answers[0].headers["ETag"] and listing.status_code == 200
    assert queries() == asked + 6  # every read went to the database
    assert cache_count("product", "error") + cache_count("product", "bypass") == errors + bypasses + 6
    assert cache_count("product", "bypass") > bypasses  # the breaker opened: later reads did not even try Redis
    with outage_app.app_context():
        assert caching.product_changed(product["id"]) is False  # an invalidation fails quietly
    health = client.get("/health/details", headers={"Authorization": "Bearer health-token-for-tests"}).get_json()
    assert health["components"]["cache"]["status"] == "DOWN"
    assert health["status"] == "DEGRADED"
