"""perf/check_regression.py: normalisation, tolerance, failures, the users scale."""

import csv
import json

import pytest

from perf import check_regression

COLUMNS = ["Type", "Name", "Request Count", "Failure Count", "Average Response Time", "50%", "95%", "99%",
           "Requests/s"]


def write_stats(path, rows):
    """A Locust-style ``_stats.csv``: rows of (name, requests, failures, mean, p50, p95, p99, rps)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for name, *figures in rows:
            writer.writerow(["GET", name, *figures])
        writer.writerow(["", "Aggregated", 0, 0, 0, 0, 0, 0, 0])
    return path


def run(tmp_path, rows, calibration=(100, 0, 2.0, 2, 4, 5, 20.0)):
    """Normalised figures of a run with ``rows`` and a calibration endpoint."""
    stats = write_stats(tmp_path / "run_stats.csv", [("calibration", *calibration), *rows])
    return check_regression.normalise(check_regression.read_stats(stats))[0]


@pytest.fixture
def baseline(tmp_path):
    """A baseline with one endpoint whose p95 is 3x the calibration's and throughput 0.5x."""
    figures = run(tmp_path, [("GET /products", 400, 0, 6.0, 5, 12, 20, 10.0)])
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"users": 30, "endpoints": figures}))
    return path


def test_percentiles_are_divided_by_the_calibrations_own(tmp_path):
    figures = run(tmp_path, [("GET /products", 400, 0, 6.0, 5, 12, 20, 10.0)])

    assert figures["GET /products"]["p50_norm"] == 2.5
    assert figures["GET /products"]["p95_norm"] == 3.0
    assert figures["GET /products"]["p99_norm"] == 4.0
    assert figures["GET /products"]["rps_norm"] == 0.5
    assert "calibration" not in figures


def test_a_slower_machine_is_not_a_regression(tmp_path, baseline):
    # Everything twice as slow, the calibration too: the same normalised figures.
    figures = run(tmp_path, [("GET /products", 400, 0, 12.0, 10, 24, 40, 10.0)],
                  calibration=(100, 0, 4.0, 4, 8, 10, 20.0))

    assert check_regression.check(figures, baseline, 0.25) == []


def test_a_slower_endpoint_beyond_the_tolerance_is_a_regression(tmp_path, baseline):
    figures = run(tmp_path, [("GET /products", 400, 0, 12.0, 10, 24, 40, 10.0)])

    problems = check_regression.check(figures, baseline, 0.25)

    assert [(name, kind) for name, _, kind in problems] == [("GET /products", check_regression.SLOWER)]
    assert check_regression.check(figures, baseline, 1.5) == []  # within a generous tolerance


def test_any_failed_request_fails_whatever_the_tolerance(tmp_path, baseline):
    figures = run(tmp_path, [("GET /products", 400, 1, 6.0, 5, 12, 20, 10.0)])

    problems = check_regression.check(figures, baseline, 100)

    assert [(name, kind) for name, _, kind in problems] == [("GET /products", check_regression.FAILED)]


def test_an_endpoint_missing_from_the_run_fails(tmp_path, baseline):
    figures = run(tmp_path, [("GET /other", 400, 0, 6.0, 5, 12, 20, 10.0)])

    assert ("GET /products", check_regression.FAILED) in [(n, k) for n, _, k in
                                                          check_regression.check(figures, baseline, 0.25)]


def test_throughput_is_expected_in_proportion_to_the_users(tmp_path, baseline):
    # A third of the users offer a third of the load: not a regression at 10 users, one at 30.
    figures = run(tmp_path, [("GET /products", 400, 0, 6.0, 5, 12, 20, 10.0 / 3)])

    assert check_regression.check(figures, baseline, 0.25, users=10) == []
    assert check_regression.check(figures, baseline, 0.25, users=30)


def test_endpoints_with_few_requests_are_checked_for_failures_only(tmp_path, baseline):
    figures = run(tmp_path, [("GET /products", 20, 0, 60.0, 50, 120, 200, 10.0)])

    assert check_regression.check(figures, baseline, 0.25) == []
    assert check_regression.check(figures, baseline, 0.25, min_requests=10)


def test_the_baseline_is_written_from_a_clean_run(tmp_path):
    stats = write_stats(tmp_path / "run_stats.csv", [("calibration", 100, 0, 2.0, 2, 4, 5, 20.0),
                                                     ("GET /products", 400, 0, 6.0, 5, 12, 20, 10.0)])
    target = tmp_path / "baseline.json"

    assert check_regression.main([str(stats), "--baseline", str(target), "--users", "30", "--write-baseline"]) == 0
    written = json.loads(target.read_text())
    assert written["users"] == 30 and written["endpoints"]["GET /products"]["p95_norm"] == 3.0
    assert check_regression.main([str(stats), "--baseline", str(target), "--users", "30"]) == 0
