"""Sales reports: enqueued by admins, computed by a real RQ worker, read through ``/api/v1/jobs/{id}``."""

from decimal import Decimal

import pytest

from project import db, tasks
from tests.builders import make_order, make_product
from tests.functional import jobs_for_tests
from tests.problems import error_fields

REPORTS = "/api/v1/reports"
JOBS = "/api/v1/jobs"


def queued_jobs():
    return tasks.get_queue().count


def request_report(client, user, **dates):
    """Enqueue a report as ``user``; return its job id."""
    response = client.post(REPORTS, json=dates, headers=user["headers"])
    assert response.status_code == 202, response.get_json()
    return response.get_json()["job_id"]


def job(client, user, job_id):
    response = client.get(f"{JOBS}/{job_id}", headers=user["headers"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def sales(customer):
    """Two orders: 3 cups at 2.50 and a pot at 10.00, then one cup more: 5 units, 20.00."""
    cup, pot = make_product(name="Cup", price="2.50", stock=10), make_product(name="Pot", price="10.00", stock=10)
    orders = [make_order(customer["user"], (cup, 3), (pot, 1)), make_order(customer["user"], (cup, 1))]
    return {"cup": cup, "pot": pot, "orders": orders}


def test_admin_enqueues_a_report(client, admin):
    response = client.post(REPORTS, json={}, headers=admin["headers"])

    assert response.status_code == 202
    body = response.get_json()
    assert body == {"job_id": body["job_id"], "status": "queued"}
    assert body["job_id"] in tasks.get_queue().job_ids


def test_a_report_needs_no_body(client, admin):
    assert client.post(REPORTS, headers=admin["headers"]).status_code == 202


@pytest.mark.parametrize(("who", "status"), [("customer", 403), (None, 401)])
def test_only_admins_request_reports(client, ctx, request, who, status):
    headers = request.getfixturevalue(who)["headers"] if who else {}

    response = client.post(REPORTS, json={}, headers=headers)

    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert queued_jobs() == 0


@pytest.mark.parametrize(("dates", "field"), [
    pytest.param({"since": "2026-02-01", "until": "2026-01-31"}, "since", id="since after until"),
    pytest.param({"since": "2026-13-01"}, "since", id="bad month"),
    pytest.param({"until": "yesterday"}, "until", id="not a date"),
    pytest.param({"since": "2026-01-01", "format": "csv"}, "format", id="unknown field"),
])
def test_invalid_report_request_is_refused(client, admin, dates, field):
    response = client.post(REPORTS, json=dates, headers=admin["headers"])

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert error_fields(response.get_json()) == {field}
    assert queued_jobs() == 0


def test_worker_computes_the_report(client, admin, sales, run_worker):
    job_id = request_report(client, admin)

    run_worker()

    answer = job(client, admin, job_id)
    assert answer["status"] == "finished"
    assert answer["error"] is None
    assert answer["ended_at"] is not None
    report = answer["result"]
    assert (report["orders"], report["units"], report["revenue"]) == (2, 5, "20.00")
    assert sum(order["total"] for order in sales["orders"]) == Decimal(report["revenue"])
    assert report["top_products"] == [
        {"product_id": sales["cup"]["id"], "name": "Cup", "units": 4, "revenue": "10.00"},
        {"product_id": sales["pot"]["id"], "name": "Pot", "units": 1, "revenue": "10.00"},
    ]


def test_date_range_is_inclusive_and_filters_orders(client, admin, sales, run_worker):
    today = db.fetch_one("SELECT current_date AS d")["d"].isoformat()
    including = request_report(client, admin, since=today, until=today)
    excluding = request_report(client, admin, since="2000-01-01", until="2000-12-31")

    run_worker()

    assert job(client, admin, including)["result"]["orders"] == 2
    report = job(client, admin, excluding)["result"]
    assert (report["orders"], report["units"], report["revenue"], report["top_products"]) == (0, 0, "0.00", [])
    assert (report["since"], report["until"]) == ("2000-01-01", "2000-12-31")


def test_a_queued_job_reads_as_queued(client, admin):
    answer = job(client, admin, request_report(client, admin))

    assert (answer["status"], answer["result"], answer["error"]) == ("queued", None, None)


@pytest.mark.parametrize("job_id", ["no-such-job", "bad.id", "x" * 65])
def test_unknown_job_is_404(client, admin, job_id):
    response = client.get(f"{JOBS}/{job_id}", headers=admin["headers"])

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_anonymous_cannot_read_a_job(client, admin):
    assert client.get(f"{JOBS}/{request_report(client, admin)}").status_code == 401


def test_a_customer_cannot_see_the_admins_job(client, admin, customer):
    response = client.get(f"{JOBS}/{request_report(client, admin)}", headers=customer["headers"])

    assert response.status_code == 404


def test_failed_job_shows_an_error_without_the_stack_trace(client, customer, admin, run_worker):
    failing = tasks.enqueue(jobs_for_tests.explode, "report exploded", user_id=customer["user"]["id"])

    run_worker()

    for reader in (customer, admin):
        answer = job(client, reader, failing.id)
        assert answer["status"] == "failed"
        assert answer["result"] is None
        assert answer["error"] == "RuntimeError: report exploded"
        assert "Traceback" not in answer["error"]
