"""Execution tracking: a log line when a job starts, finishes or fails, and outcome counts in Redis.

Every line carries ``job_id``, ``queue``, ``function``, ``attempt`` and the
enqueuing request's ``request_id``; finish and failure lines add
``duration_ms``. Counts go to Redis (one pipelined round trip a job), not
to process memory: work horses are forked per job and workers run on other
machines, so ``/metrics`` on any web instance reads the same figures
(``project.tasks.metrics``).

A failure is retried while ``retries_left`` > 0, else it is a dead letter:
its error (type and a masked message, never the stack) is kept in the
job's meta. The three ways a job fails all come here: it raised (the
worker's ``handle_exception``), its work horse was killed (the worker's
``handle_work_horse_killed``), or its worker died and the job was found
abandoned (the failure callback, run by whichever process cleans the
started registry).
"""

import contextlib
from datetime import UTC, datetime

from rq.exceptions import AbandonedJobError

from project.observability import context
from project.observability.correlation import new_request_id, parse_traceparent
from project.observability.errors import new_reference_id
from project.observability.logging import get_logger, redact_text

log = get_logger(__name__)
COUNTS_KEY = "store:tasks:counts"  # field "<counter>|<function>"
DURATIONS_KEY = "store:tasks:durations"  # fields "<function>|<outcome>|<bucket index|sum|count>"
COUNTERS = ("started", "succeeded", "failed", "retried", "dead_lettered")
# Jobs run from a fraction of a second (a webhook) to minutes (a report).
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def function_name(job):
    """The job's function, or a placeholder when it cannot be read."""
    try:
        return job.func_name or "unknown"
    except Exception:  # noqa: BLE001 - an undeserialisable job is still counted and logged
        return "unknown"


@contextlib.contextmanager
def job_context(job, queue_name):
    """Bind the job's ID and queue and its enqueuer's request ID and trace to every log line."""
    meta = job.meta or {}
    trace = parse_traceparent(meta.get("traceparent"), meta.get("tracestate"))
    with context.bind(request_id=meta.get("request_id") or new_request_id(), trace=trace, trace_id=trace.trace_id,
                      span_id=trace.span_id, job_id=job.id, queue=queue_name):
        yield


def record(connection, function, *counters, duration=None, outcome=None):
    """Add 1 to each counter for ``function`` and observe ``duration`` (seconds) under ``outcome``."""
    with connection.pipeline(transaction=False) as pipe:
        for counter in counters:
            pipe.hincrby(COUNTS_KEY, f"{counter}|{function}", 1)
        if duration is not None:
            bucket = next((i for i, le in enumerate(DURATION_BUCKETS) if duration <= le), len(DURATION_BUCKETS))
            prefix = f"{function}|{outcome}"
            pipe.hincrby(DURATIONS_KEY, f"{prefix}|{bucket}", 1)
            pipe.hincrby(DURATIONS_KEY, f"{prefix}|count", 1)
            pipe.hincrbyfloat(DURATIONS_KEY, f"{prefix}|sum", duration)
        pipe.execute()


def job_started(job, queue_name):
    """Count the attempt (kept in the job's meta) and log ``job_started``; return the attempt number."""
    job.meta["attempt"] = attempt = int(job.meta.get("attempt") or 0) + 1
    job.save_meta()
    function = function_name(job)
    record(job.connection, function, "started")
    log.info("job_started", function=function, attempt=attempt, retries_left=job.retries_left)
    return attempt


def job_succeeded(job, duration):
    """Log ``job_finished`` and count it; a job that returned an RQ ``Retry`` counts as retried."""
    function = function_name(job)
    rescheduled = job.get_status(refresh=False) != "finished"
    outcome = "retried" if rescheduled else "succeeded"
    record(job.connection, function, outcome, duration=duration, outcome="succeeded")
    log.info("job_finished", function=function, attempt=job.meta.get("attempt"), outcome=outcome,
             duration_ms=round(duration * 1000, 3))


def job_failed(job, error_type, message, *, duration=None, exc_info=None):
    """Record a failure: retried while retries are left, else a dead letter that keeps its error.

    Called before RQ decrements ``retries_left``, in every failure path.
    """
    job.get_meta(refresh=True)  # the worker's copy is older than the horse's (attempt)
    dead = not (job.retries_left and job.retries_left > 0)
    outcome = "dead_lettered" if dead else "retried"
    reference_id = new_reference_id()
    error = {"type": error_type, "message": redact_text(str(message)).strip()[:500],
             "failed_at": datetime.now(UTC).isoformat(), "attempt": job.meta.get("attempt"),
             "reference_id": reference_id}
    job.meta.update(reference_id=reference_id, last_error=error)
    if dead:
        job.meta["dead_letter"] = error
    job.save_meta()
    function = function_name(job)
    record(job.connection, function, "failed", outcome, duration=duration, outcome="failed")
    log.error("job_failed", function=function, attempt=error["attempt"], outcome=outcome,
              duration_ms=round(duration * 1000, 3) if duration is not None else None, error_type=error_type,
              error_message=error["message"], retries_left=max((job.retries_left or 0) - 1, 0) if not dead else 0,
              reference_id=reference_id, exc_info=exc_info)


def duration_of(job):
    """Seconds between the job's start and end as RQ recorded them, or None."""
    if job.started_at and job.ended_at:
        return max((job.ended_at - job.started_at).total_seconds(), 0.0)
    return None


def on_failure(job, connection, exc_type, exc_value, tb):
    """RQ failure callback on every job: handles a job whose worker died (found abandoned).

    Failures inside a work horse are recorded by the worker itself, with the
    stack trace; this covers the job left "started" by a worker killed with
    SIGKILL, cleaned up later by another worker (or anything counting the
    started registry).
    """
    if exc_type is AbandonedJobError:
        started = job.started_at
        with job_context(job, job.origin):
            job_failed(job, "AbandonedJobError",
                       f"the worker died while running the job (started {started.isoformat() if started else '?'})")
