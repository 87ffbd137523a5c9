"""Workers that die mid-job: the job is found abandoned and retried or dead-lettered, never lost.

Real ``flask rq worker`` processes on the real Valkey, with heartbeats and
registry cleaning shortened to a second through settings (tests/workers.py).
"""

import os
import signal

import pytest
from rq.job import Job

from project import tasks
from project.redis_client import get_redis
from project.tasks import dead
from tests import jobs
from tests.workers import WorkerProcess, wait_for


@pytest.fixture
def start_worker(service_env, tmp_path):
    """``start_worker()``: a real long-running worker; stopped after the test."""
    started = []

    def start():
        worker = WorkerProcess(service_env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def horse_pid(key):
    """The work horse's pid, once the job has started on it."""
    value = get_redis().get(f"test:horse:{key}")
    return int(value) if value else None


def status(job):
    return job.get_status(refresh=True)


@pytest.fixture
def immediate_retries(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_RETRY_BASE_SECONDS", 0)


def test_a_job_whose_worker_is_killed_is_retried_by_the_next_worker(ctx, immediate_retries, start_worker):
    job = tasks.enqueue(jobs.sleep_first, "killed", 60, retries=2)
    first = start_worker()
    horse = wait_for(lambda: horse_pid("killed"))
    assert status(job) == "started"

    os.kill(horse, signal.SIGKILL)  # the whole dyno goes: horse and worker, no cleanup
    first.kill()
    second = start_worker()

    wait_for(lambda: status(job) == "finished", timeout=60)
    assert job.return_value() == 2
    (abandoned,) = [line for line in second.events("job_failed") if line.get("job_id") == job.id]
    assert (abandoned["error_type"], abandoned["outcome"], abandoned["attempt"]) == (
        "AbandonedJobError", "retried", 1)
    assert abandoned["queue"] == "default" and abandoned["request_id"] == job.meta["request_id"]


def test_an_abandoned_job_without_retries_is_dead_lettered(ctx, start_worker):
    job = tasks.enqueue(jobs.sleep_first, "abandoned", 60, retries=0)
    first = start_worker()
    horse = wait_for(lambda: horse_pid("abandoned"))

    os.kill(horse, signal.SIGKILL)
    first.kill()
    start_worker()

    wait_for(lambda: status(job) == "failed", timeout=60)
    (entry,) = dead.list_dead()
    assert entry["job_id"] == job.id
    assert entry["error"].startswith("AbandonedJobError: the worker died while running the job")
    assert jobs.attempts("abandoned") == 1


def test_a_killed_work_horse_under_a_live_worker_is_retried(ctx, immediate_retries, start_worker):
    job = tasks.enqueue(jobs.sleep_first, "horse", 60, retries=1)
    worker = start_worker()
    horse = wait_for(lambda: horse_pid("horse"))

    os.kill(horse, signal.SIGKILL)  # the OOM killer takes the horse; the worker sees it die

    wait_for(lambda: status(job) == "finished", timeout=60)
    (failed,) = [line for line in worker.events("job_failed") if line.get("job_id") == job.id]
    assert (failed["error_type"], failed["outcome"]) == ("WorkHorseKilled", "retried")


def test_sigterm_lets_the_current_job_finish_then_stops(ctx, start_worker):
    job = tasks.enqueue(jobs.sleep_first, "graceful", 2)
    worker = start_worker()
    wait_for(lambda: horse_pid("graceful"))

    assert worker.stop() == 0

    assert Job.fetch(job.id, connection=get_redis()).get_status() == "finished"
    assert any("warm shut down requested" in line.get("message", "") for line in worker.lines())
