"""The instrumented cursor: every statement timed, counted and named, on the real database."""

import re
import time
from decimal import Decimal

import psycopg
import pytest
from prometheus_client import REGISTRY

from project import db
from project.db import instrumentation, migrations
from project.db.instrumentation import named, redact_params, statement_name
from project.store.products import repository as products
from tests.builders import make_order, make_product, make_user

NAME = re.compile(r"[a-z_]+(\.[A-Za-z_]+)+|other")


def sample(name, **labels):
    """A metric sample's current value (0 when the series does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0


def count(statement):
    """How many statements ran under this name."""
    return sample("db_query_duration_seconds_count", statement=statement)


def test_a_statement_is_timed_and_counted_under_its_function_name(ctx):
    product = make_product()
    name = "products.get_product"
    before = {"count": count(name), "rows": sample("db_query_rows_total", statement=name),
              "sum": sample("db_query_duration_seconds_sum", statement=name)}
    assert products.get_product(product_id=product["id"])["id"] == product["id"]
    assert count(name) == before["count"] + 1
    assert sample("db_query_rows_total", statement=name) == before["rows"] + 1
    assert sample("db_query_duration_seconds_sum", statement=name) > before["sum"]


def test_every_statement_of_a_function_counts(ctx):
    for _ in range(3):
        make_product()
    before = count("products.list_products"), sample("db_query_rows_total", statement="products.list_products")
    rows, total = products.list_products(limit=2, offset=0)
    assert len(rows) == 2 and total == 3
    assert count("products.list_products") == before[0] + 2  # the page, then the total
    assert sample("db_query_rows_total", statement="products.list_products") == before[1] + 2 + 1


def test_executemany_and_affected_rows_are_recorded(ctx):
    user, first, second = make_user(), make_product(), make_product()
    before = count("orders.place_order"), sample("db_query_rows_total", statement="orders.place_order")
    make_order(user, (first, 1), (second, 2))
    # SELECT ... FOR UPDATE (2 rows), UPDATE stock x2 (2), INSERT order (1), INSERT items x2 (2).
    assert count("orders.place_order") == before[0] + 4
    assert sample("db_query_rows_total", statement="orders.place_order") == before[1] + 7


def test_migrations_are_named_after_their_functions(ctx):
    before = count("migrations.upgrade"), count("migrations.applied_versions")
    assert migrations.upgrade() == []
    assert count("migrations.upgrade") == before[0] + 2  # the advisory lock and unlock
    assert count("migrations.applied_versions") == before[1] + 2


def test_a_bound_name_wins_and_code_outside_the_project_is_other(ctx):
    before = count("tests.explicit"), count("other")
    with named("tests.explicit"):
        db.fetch_one("SELECT 1 AS one")
    db.fetch_one("SELECT 1 AS one")
    assert count("tests.explicit") == before[0] + 1
    assert count("other") == before[1] + 1


def test_a_failing_statement_counts_an_error_by_class(ctx):
    errors = {"error": "DivisionByZero", "statement": "tests.failing"}
    before = sample("db_query_errors_total", **errors), count("tests.failing")
    with named("tests.failing"), pytest.raises(psycopg.errors.DivisionByZero):
        db.fetch_one("SELECT 1 / 0")
    assert sample("db_query_errors_total", **errors) == before[0] + 1
    assert count("tests.failing") == before[1] + 1  # its time is observed too


def test_a_cancelled_statement_counts_as_query_canceled(ctx):
    errors = {"error": "QueryCanceled", "statement": "tests.cancelled"}
    before = sample("db_query_errors_total", **errors)
    with named("tests.cancelled"), pytest.raises(psycopg.errors.QueryCanceled), db.transaction() as conn:
        conn.execute("SET LOCAL statement_timeout = 50")
        conn.execute("SELECT pg_sleep(1)")
    assert sample("db_query_errors_total", **errors) == before + 1


def test_statement_labels_stay_statement_names_never_sql(client, ctx):
    for index in range(5):
        make_product(name=f"Lamp {index}", category=f"category-{index}")
        client.get(f"/api/v1/products?category=category-{index}&q=Lamp+{index}&limit={index + 1}")
        client.get(f"/api/v1/products/{index + 100}")
    labels = {sample.labels["statement"] for metric in REGISTRY.collect() if metric.name.startswith("db_")
              for sample in metric.samples if "statement" in sample.labels}
    assert "products.list_products" in labels and "products.get_product" in labels
    assert all(NAME.fullmatch(label) for label in labels), labels


def test_parameters_are_redacted_by_type():
    assert redact_params((7, 2.5, True, None, Decimal("9.99"), "hunter2-secret", b"\x00\x01", [1, "a"])) == [
        7, 2.5, True, None, "9.99", "<str len=14>", "<bytes len=2>", [1, "<str len=1>"]]
    assert redact_params({"email": "someone@example.com", "limit": 10}) == {"email": "<str len=19>", "limit": 10}
    assert redact_params(None) is None


def test_naming_a_statement_is_cheap():
    def caller():
        return statement_name()

    caller()  # the first call fills the cache for this call site
    started = time.perf_counter()
    for _ in range(10_000):
        caller()
    assert (time.perf_counter() - started) / 10_000 < 20e-6  # a few µs in practice; generous for slow CI


def test_the_pool_connections_use_the_instrumented_cursor(ctx):
    with db.connection() as conn:
        assert isinstance(conn.cursor(), instrumentation.InstrumentedCursor)
