"""Dead letters: a job out of retries keeps its error; ``flask tasks dead|requeue-dead|purge-dead`` handle it."""

import pytest
from rq.job import Job

from project import tasks
from project.redis_client import get_redis
from project.tasks import dead
from tests import jobs


@pytest.fixture
def immediate_retries(app, monkeypatch):
    """Retries without waiting, so one burst worker runs every attempt."""
    monkeypatch.setitem(app.config, "JOB_RETRY_BASE_SECONDS", 0)


@pytest.fixture
def dead_letter(ctx, immediate_retries, run_worker):
    """A job that failed both its attempts (it would succeed on a third)."""
    job = tasks.enqueue(jobs.flaky, "dead", 2, retries=1)
    run_worker()
    return Job.fetch(job.id, connection=get_redis())


def test_a_job_that_always_fails_lands_in_dead_letters_with_its_error(dead_letter):
    assert dead_letter.get_status() == "failed"
    assert jobs.attempts("dead") == 2  # the first run and one retry
    (entry,) = dead.list_dead()
    assert entry["job_id"] == dead_letter.id
    assert (entry["function"], entry["queue"], entry["attempt"]) == ("tests.jobs.flaky", "default", 2)
    assert entry["error"] == "RuntimeError: attempt 2 failed: password=[REDACTED] refused"
    assert entry["failed_at"]


def test_flask_tasks_dead_lists_them(runner, dead_letter):
    result = runner.invoke(args=["tasks", "dead"])

    assert result.exit_code == 0, result.output
    assert dead_letter.id in result.output
    assert "tests.jobs.flaky  default" in result.output
    assert "RuntimeError: attempt 2 failed" in result.output
    assert "hunter2" not in result.output
    assert "1 dead letter(s)" in result.output


def test_requeue_dead_puts_it_back_with_its_retries_and_it_runs(runner, dead_letter, run_worker):
    result = runner.invoke(args=["tasks", "requeue-dead", dead_letter.id])

    assert result.exit_code == 0, result.output
    assert f"requeued {dead_letter.id}" in result.output
    assert dead.list_dead() == []
    job = Job.fetch(dead_letter.id, connection=get_redis())
    assert job.get_status() == "queued" and job.retries_left == 1
    run_worker()
    assert job.get_status(refresh=True) == "finished"
    assert job.return_value() == 3


def test_requeue_dead_all(runner, ctx, immediate_retries, run_worker):
    first, second = (tasks.enqueue(jobs.flaky, key, 1) for key in ("a", "b"))
    run_worker()
    assert len(dead.list_dead()) == 2

    result = runner.invoke(args=["tasks", "requeue-dead", "--all"])

    assert result.exit_code == 0, result.output
    assert tasks.get_queue().job_ids == [first.id, second.id]


def test_purge_dead_deletes_them(runner, ctx, dead_letter):
    result = runner.invoke(args=["tasks", "purge-dead", dead_letter.id])

    assert result.exit_code == 0, result.output
    assert dead.list_dead() == []
    assert not Job.exists(dead_letter.id, connection=get_redis())


def test_purge_dead_all(runner, ctx, dead_letter):
    result = runner.invoke(args=["tasks", "purge-dead", "--all"])

    assert result.exit_code == 0, result.output
    assert f"purged {dead_letter.id}" in result.output
    assert dead.list_dead() == []


@pytest.mark.parametrize("command", ["requeue-dead", "purge-dead"])
def test_an_unknown_job_id_is_an_error(runner, ctx, command):
    result = runner.invoke(args=["tasks", command, "no-such-job"])

    assert result.exit_code == 1
    assert "no such dead letter: no-such-job" in result.output


@pytest.mark.parametrize("command", ["requeue-dead", "purge-dead"])
@pytest.mark.parametrize("args", [[], ["--all", "some-id"]], ids=["nothing", "both"])
def test_name_jobs_or_all_but_not_both(runner, ctx, command, args):
    result = runner.invoke(args=["tasks", command, *args])

    assert result.exit_code == 2
    assert "--all" in result.output


def test_a_finished_job_is_not_a_dead_letter(runner, ctx, run_worker):
    job = tasks.enqueue(jobs.tick, "fine")
    run_worker()

    assert runner.invoke(args=["tasks", "requeue-dead", job.id]).exit_code == 1
    assert Job.fetch(job.id, connection=get_redis()).get_status() == "finished"
