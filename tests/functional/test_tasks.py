"""Background jobs on the real Valkey with real workers: queues, retries, tracking and job metrics."""

import json
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rq.job import Job

from project import tasks
from project.redis_client import get_redis
from project.tasks import registry
from tests import jobs, promtool
from tests.workers import WorkerProcess, wait_for

REPORT = "project.store.reports.jobs.generate_sales_report"


@pytest.fixture
def start_worker(service_env, tmp_path):
    """``start_worker(**env)``: a real long-running ``flask rq worker``; stopped (SIGTERM) after the test."""
    started = []

    def start(**env):
        worker = WorkerProcess({**service_env, **env}, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def quick_retries(app, monkeypatch):
    """Backoff of 1 s then 2 s, without jitter (intervals are fixed when a job is enqueued)."""
    monkeypatch.setitem(app.config, "JOB_RETRY_BASE_SECONDS", 1)
    monkeypatch.setitem(app.config, "JOB_RETRY_JITTER", 0)


def scrape(client):
    """``{(name, labels): value}`` of every sample on /metrics."""
    response = client.get("/metrics")
    assert response.status_code == 200
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def sample(found, name, **labels):
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def job_lines(stdout):
    return [line for line in (json.loads(text) for text in stdout.splitlines() if text.startswith("{"))
            if line.get("event", "").startswith("job_")]


def test_the_queues_are_high_default_low_in_that_order(app):
    assert app.config["RQ_QUEUE_NAMES"] == ["high", "default", "low"]


def test_registered_jobs_go_to_their_queue_with_their_timeout_and_retries(app, ctx):
    report = tasks.enqueue(REPORT)
    webhook = tasks.enqueue("project.store.orders.jobs.notify_order_placed", 1)
    warm = tasks.enqueue(registry.CACHE_WARM.func)

    assert (report.origin, report.timeout) == ("default", app.config["REPORT_JOB_TIMEOUT"])
    assert (webhook.origin, webhook.timeout) == ("high", app.config["WEBHOOK_JOB_TIMEOUT"])
    assert (warm.origin, warm.timeout) == ("low", app.config["CACHE_WARM_JOB_TIMEOUT"])
    for job in (report, webhook, warm):
        assert job.retries_left == app.config["JOB_MAX_RETRIES"] == 3
        assert len(job.retry_intervals) == 3
        assert job.failure_callback.__name__ == "on_failure"


def test_retry_intervals_grow_exponentially_with_jitter(app, ctx):
    intervals = tasks.enqueue(REPORT).retry_intervals

    for attempt, interval in enumerate(intervals):  # base 2 s, jitter up to +50 %
        assert 2 * 2 ** attempt <= interval <= 3 * 2 ** attempt


def test_a_job_that_fails_twice_then_succeeds_is_retried_twice(app, ctx, client, quick_retries, start_worker):
    job = tasks.enqueue(jobs.flaky, "twice", 2, retries=3)
    worker = start_worker()

    wait_for(lambda: job.get_status(refresh=True) == "finished", timeout=60)

    assert job.return_value() == 3 and jobs.attempts("twice") == 3
    failures = [line for line in worker.events("job_failed") if line.get("job_id") == job.id]
    assert [(line["attempt"], line["outcome"]) for line in failures] == [(1, "retried"), (2, "retried")]
    assert all("hunter2" not in json.dumps(line) for line in worker.lines())  # the message is masked
    (finished,) = [line for line in worker.events("job_finished") if line.get("job_id") == job.id]
    assert (finished["attempt"], finished["outcome"]) == (3, "succeeded")
    found = scrape(client)
    function = "tests.jobs.flaky"
    assert sample(found, "rq_jobs_started_total", function=function) == 3
    assert sample(found, "rq_jobs_failed_total", function=function) == 2
    assert sample(found, "rq_jobs_retried_total", function=function) == 2
    assert sample(found, "rq_jobs_succeeded_total", function=function) == 1
    assert sample(found, "rq_jobs_dead_lettered_total", function=function) == 0
    assert sample(found, "rq_job_duration_seconds_count", function=function, outcome="failed") == 2
    assert sample(found, "rq_job_duration_seconds_count", function=function, outcome="succeeded") == 1
    assert sample(found, "rq_job_duration_seconds_bucket", function=function, outcome="succeeded", le="+Inf") == 1


def test_job_log_lines_carry_the_job_and_the_enqueuing_request(client, admin, run_worker):
    response = client.post("/api/v1/reports", json={}, headers={**admin["headers"], "X-Request-ID": "req-tasks-1"})
    job_id = response.get_json()["job_id"]

    lines = [line for line in job_lines(run_worker().stdout) if line.get("job_id") == job_id]

    by_event = {line["event"]: line for line in lines}
    assert set(by_event) == {"job_started", "job_finished"}
    for line in lines:
        assert (line["queue"], line["function"], line["attempt"], line["request_id"]) == (
            "default", REPORT, 1, "req-tasks-1")
    assert by_event["job_finished"]["duration_ms"] >= 0
    assert by_event["job_finished"]["outcome"] == "succeeded"


def test_the_outcome_counters_match_what_ran(client, ctx, run_worker):
    for number in range(3):
        tasks.enqueue(jobs.tick, f"ran-{number}")
    tasks.enqueue(jobs.flaky, "never", 99)  # unregistered: no retries, a dead letter at once

    run_worker()

    found = scrape(client)
    assert sample(found, "rq_jobs_started_total", function="tests.jobs.tick") == 3
    assert sample(found, "rq_jobs_succeeded_total", function="tests.jobs.tick") == 3
    assert sample(found, "rq_job_duration_seconds_count", function="tests.jobs.tick", outcome="succeeded") == 3
    assert sample(found, "rq_jobs_failed_total", function="tests.jobs.flaky") == 1
    assert sample(found, "rq_jobs_dead_lettered_total", function="tests.jobs.flaky") == 1
    assert sample(found, "rq_jobs_retried_total", function="tests.jobs.flaky") == 0
    assert sample(found, "rq_jobs_dead_letter", queue="default") == 1
    exposition = client.get("/metrics").get_data(as_text=True).splitlines()
    ours = [line for line in exposition if line.removeprefix("# HELP ").removeprefix("# TYPE ").startswith("rq_")]
    returncode, output = promtool.check_metrics("\n".join(ours) + "\n")
    assert returncode == 0, output  # the families built from Redis are valid, lint-clean exposition


def test_queue_metrics_match_the_real_queues(client, ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "HEALTH_CACHE_SECONDS", 0)  # queue figures come from a fresh check
    for queue, count in (("high", 2), ("default", 3), ("low", 1)):
        for number in range(count):
            tasks.enqueue(jobs.tick, f"{queue}-{number}", queue=queue)
    tasks.get_queue("low").enqueue_in(timedelta(hours=1), jobs.tick, "later")

    found = scrape(client)

    for queue, count in (("high", 2), ("default", 3), ("low", 1)):
        assert sample(found, "rq_queue_jobs", queue=queue) == count == tasks.get_queue(queue).count
        assert sample(found, "rq_registry_jobs", queue=queue, registry="started") == 0
        assert sample(found, "rq_jobs_dead_letter", queue=queue) == 0
    assert sample(found, "rq_registry_jobs", queue="low", registry="scheduled") == 1
    assert sample(found, "rq_workers") == 0


def test_job_metrics_are_skipped_not_fatal_when_redis_is_down(settings):
    from project import create_app

    app = create_app({**settings, "REDIS_URL": "redis://127.0.0.1:9/0"})

    response = app.test_client().get("/metrics")

    assert response.status_code == 200
    assert "rq_jobs_started_total" not in response.get_data(as_text=True)


def test_a_failed_job_keeps_its_masked_error_on_the_job(ctx, run_worker):
    job = tasks.enqueue(jobs.flaky, "masked", 5)

    run_worker()

    job = Job.fetch(job.id, connection=get_redis())
    error = job.meta["dead_letter"]
    assert error["type"] == "RuntimeError"
    assert error["message"] == "attempt 1 failed: password=[REDACTED] refused"
    assert "hunter2" not in job.latest_result().exc_string  # the traceback RQ keeps is masked too
