"""Periodic jobs: due ones are enqueued once per interval across every worker, and absent ones skipped."""

from project import tasks
from project.redis_client import get_redis
from project.tasks import registry, schedule, tracking
from tests import jobs
from tests.workers import WorkerProcess, wait_for

TICK = schedule.Periodic("test_tick", "tests.jobs.tick", "TEST_TICK_SECONDS")


def test_a_due_job_is_enqueued_once_per_interval(app, ctx, run_worker):
    config = {"TEST_TICK_SECONDS": 60}

    first = schedule.enqueue_due(get_redis(), config, [TICK])
    again = schedule.enqueue_due(get_redis(), config, [TICK])  # another worker, the same minute

    assert len(first) == 1 and again == []
    assert 0 < get_redis().ttl(schedule.KEY.format("test_tick")) <= 60
    assert tasks.get_queue().job_ids == [first[0].id]
    run_worker()
    assert jobs.attempts("periodic") == 1


def test_an_interval_of_zero_turns_it_off(ctx):
    assert schedule.enqueue_due(get_redis(), {"TEST_TICK_SECONDS": 0}, [TICK]) == []


def test_a_missing_function_is_skipped(ctx):
    absent = schedule.Periodic("absent", "project.no_such_module.warm", "TEST_TICK_SECONDS")
    missing_attribute = schedule.Periodic("absent2", "tests.jobs.no_such_function", "TEST_TICK_SECONDS")

    assert schedule.enqueue_due(get_redis(), {"TEST_TICK_SECONDS": 60}, [absent, missing_attribute]) == []
    assert tasks.get_queue().count == 0


def test_cache_warming_is_scheduled_on_the_low_queue_when_it_exists(app):
    (warm,) = schedule.SCHEDULE

    assert warm.func == "project.caching.warm_cache" == registry.CACHE_WARM.func
    assert warm.interval_setting == "CACHE_WARM_SCHEDULE_SECONDS" and app.config[warm.interval_setting] == 600
    assert registry.CACHE_WARM.queue == "low"


def test_a_long_running_worker_enqueues_and_runs_cache_warming(ctx, service_env, tmp_path):
    worker = WorkerProcess(service_env, tmp_path / "worker.log", CACHE_WARM_SCHEDULE_SECONDS="600")
    try:
        started = wait_for(lambda: get_redis().hget(tracking.COUNTS_KEY, f"started|{registry.CACHE_WARM.func}"))
    finally:
        worker.stop()

    assert int(started) == 1  # once per interval, however many maintenance ticks ran
    (line,) = worker.events("periodic_job_enqueued")
    assert (line["periodic"], line["function"]) == ("cache_warm", "project.caching.warm_cache")
    (run,) = [entry for entry in worker.events("job_started") if entry["job_id"] == line["enqueued_job_id"]]
    assert run["queue"] == "low"
