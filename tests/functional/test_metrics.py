"""``/metrics``: exact counts across gunicorn workers, bounded series, resources, business figures.

The multiprocess tests run a real gunicorn (2 workers, ``gunicorn.conf.py``);
the others use the test client, where the process's own registries are served.
"""

import contextlib
import os
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from project import create_app
from tests.builders import make_product, sign_in
from tests.promtool import check_metrics

DURATION_COUNT = "flask_http_request_duration_seconds_count"


def get(url, headers=None):
    """``(status, body text)`` of a GET to the live server."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(text):
    """``{(name, ((label, value), ...)): value}`` for every sample in an exposition."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def total(found, name, **labels):
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(value for (sample, sample_labels), value in found.items()
               if sample == name and set(labels.items()) <= set(sample_labels))


def series(found, name):
    """The label sets of ``name``."""
    return {labels for sample, labels in found if sample == name}


def scrape(url):
    status, text = get(f"{url}/metrics")
    assert status == 200, text
    return text


def test_counts_are_exact_across_gunicorn_workers(start_gunicorn):
    server = start_gunicorn(workers=2)
    requests = 40

    for i in range(requests):
        assert get(f"{server.url}/api/v1/products?limit={1 + i % 5}")[0] == 200
    for i in range(7):
        assert get(f"{server.url}/api/v1/products/{900_000 + i}")[0] == 404

    found = samples(scrape(server.url))
    assert total(found, DURATION_COUNT, route="/api/v1/products", method="GET", status="200") == requests
    assert total(found, DURATION_COUNT, route="/api/v1/products/<id:product_id>", status="404") == 7
    assert total(found, "http_problems_total", route="/api/v1/products/<id:product_id>", type="not-found") == 7
    assert total(found, "flask_http_request_total", method="GET") >= requests + 7
    # Both workers answered some of them: the counts above add up files of several processes.
    workers = {labels for labels in series(found, "process_cpu_seconds_total") if ("role", "worker") in labels}
    masters = {labels for labels in series(found, "process_cpu_seconds_total") if ("role", "master") in labels}
    assert len(workers) == 2 and len(masters) == 1
    assert total(found, "process_resident_memory_bytes", role="master") > 0
    assert total(found, "process_open_fds", role="worker") > 0
    assert total(found, "store_build_info") == 1


def get_ignoring_resets(url):
    with contextlib.suppress(OSError):  # its worker is killed mid-request
        get(url)


def worker_pids(found):
    return {dict(labels)["pid"] for labels in series(found, "process_threads") if ("role", "worker") in labels}


def test_killed_workers_keep_their_counts_and_drop_their_gauges(start_gunicorn):
    server = start_gunicorn(workers=2, app="tests.functional.slow_wsgi:app")
    probed = total(samples(scrape(server.url)), DURATION_COUNT, route="/health", status="200")  # start-up probe
    for _ in range(20):
        assert get(f"{server.url}/health")[0] == 200
    slow = threading.Thread(target=get_ignoring_resets, args=(f"{server.url}/test/slow?seconds=8",))
    slow.start()
    found = wait_for(server, lambda found: total(found, "http_requests_in_progress", route="/test/slow") == 1)
    killed = worker_pids(found)

    for pid in killed:  # one of them is mid-request
        os.kill(int(pid), signal.SIGKILL)
    found = wait_for(server, lambda found: len(worker_pids(found)) == 2 and not worker_pids(found) & killed)

    assert total(found, DURATION_COUNT, route="/health", status="200") == probed + 20
    assert total(found, "http_requests_in_progress", route="/test/slow") == 0
    slow.join(15)


def wait_for(server, condition, timeout=20):
    """Scrape until ``condition(samples)`` holds; return the last samples (the caller asserts)."""
    deadline = time.monotonic() + timeout
    while True:
        found = samples(scrape(server.url))
        if condition(found) or time.monotonic() > deadline:
            assert condition(found)
            return found
        time.sleep(0.2)


def test_unknown_paths_share_one_series(start_gunicorn):
    server = start_gunicorn(workers=2)
    assert get(f"{server.url}/nothing-here")[0] == 404
    before = samples(scrape(server.url))

    sent = [f"{uuid.uuid4().hex}/{uuid.uuid4().hex}" for _ in range(50)]
    for path in sent:
        assert get(f"{server.url}/{path}")[0] == 404

    text = scrape(server.url)
    after = samples(text)
    new = set(after) - set(before)
    assert not [key for key in new if "route" in dict(key[1])], new
    assert total(after, DURATION_COUNT, route="<unmatched>") == 51
    assert not [path for path in sent if path.split("/")[0] in text]


def test_unknown_methods_share_one_label(client):
    """gunicorn passes any upper-case token as a method: each would otherwise be new series."""
    def count(found, **labels):
        return total(found, DURATION_COUNT, route="<unmatched>", **labels)

    before = samples(client.get("/metrics").get_data(as_text=True))
    sent = ["FOOBAR", "BAZQUX", "PROPFIND"]
    for method in sent:
        assert client.open("/api/v1/products", method=method).status_code == 405
        assert client.open(f"/{uuid.uuid4().hex}", method=method).status_code == 404
    assert client.open("/api/v1/products", method="PATCH").status_code == 405  # a real method keeps its name

    text = client.get("/metrics").get_data(as_text=True)
    after = samples(text)
    assert not [method for method in sent if method in text]
    assert count(after, method="_OTHER", status="405") - count(before, method="_OTHER", status="405") == 3
    assert count(after, method="_OTHER", status="404") - count(before, method="_OTHER", status="404") == 3
    assert count(after, method="PATCH", status="405") - count(before, method="PATCH", status="405") == 1
    assert ("http_requests_in_progress", (("method", "_OTHER"), ("route", "<unmatched>"))) in after


def test_the_exposition_passes_promtool(start_gunicorn):
    server = start_gunicorn(workers=2)
    for path in ("/health", "/health/ready", "/api/v1/products", "/missing"):
        get(f"{server.url}{path}")

    returncode, output = check_metrics(scrape(server.url))

    assert returncode == 0, output


def test_component_health_and_queues_are_exported(client):
    found = samples(client.get("/metrics").get_data(as_text=True))

    assert total(found, "store_health_component_status", component="database", status="UP") == 1
    assert total(found, "store_health_component_status", component="database", status="DOWN") == 0
    assert total(found, "store_ready") == 1
    assert total(found, "store_draining") == 0
    assert ("rq_queue_jobs", (("queue", "default"),)) in found
    assert ("rq_workers", ()) in found


@pytest.fixture
def guarded(settings):
    app = create_app({**settings, "METRICS_TOKEN": "scrape-me-please"})
    yield app.test_client()
    app.extensions["db"].close()


def test_metrics_token_guards_the_endpoint(guarded):
    refused = guarded.get("/metrics")
    wrong = guarded.get("/metrics", headers={"Authorization": "Bearer nope"})
    allowed = guarded.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})

    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert wrong.status_code == 401
    assert allowed.status_code == 200 and "flask_http_request_duration_seconds" in allowed.get_data(as_text=True)


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_business_metrics_count_what_happened(client, admin):
    before = {name: sample(name) for name in ("store_registrations_total", "store_orders_created_total",
                                              "store_order_value_sum", "store_reports_requested_total")}
    signins = sample("store_signins_total", outcome="success"), sample("store_signins_total", outcome="failure")
    garden = sample("store_items_sold_total", category="garden")

    registered = client.post("/api/v1/auth/register", json={"email": f"{uuid.uuid4().hex}@example.com",
                                                             "password": "a long enough password"})
    assert registered.status_code == 201, registered.get_json()
    customer = sign_in(client)  # created through the repository, then signed in through the API
    client.post("/api/v1/auth/token", json={"email": "nobody@example.com", "password": "wrong password"})
    rake = make_product(category="garden", price="12.50", stock=10)
    order = client.post("/api/v1/orders", json={"items": [{"product_id": rake["id"], "quantity": 3}]},
                        headers=customer["headers"])
    assert order.status_code == 201
    assert client.post("/api/v1/reports", json={}, headers=admin["headers"]).status_code == 202

    assert sample("store_registrations_total") - before["store_registrations_total"] == 1
    assert sample("store_signins_total", outcome="success") - signins[0] == 1
    assert sample("store_signins_total", outcome="failure") - signins[1] == 1
    assert sample("store_orders_created_total") - before["store_orders_created_total"] == 1
    assert sample("store_order_value_sum") - before["store_order_value_sum"] == pytest.approx(37.5)
    assert sample("store_items_sold_total", category="garden") - garden == 3
    assert sample("store_reports_requested_total") - before["store_reports_requested_total"] == 1


def test_a_refused_order_counts_nothing(client, customer):
    before = sample("store_orders_created_total")
    cup = make_product(stock=1)

    response = client.post("/api/v1/orders", json={"items": [{"product_id": cup["id"], "quantity": 5}]},
                           headers=customer["headers"])

    assert response.status_code == 409
    assert sample("store_orders_created_total") == before
