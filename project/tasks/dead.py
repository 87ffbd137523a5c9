"""Dead letters: jobs that failed with no retries left, kept with their error until handled.

They are RQ's ``FailedJobRegistry`` of each queue (RQ puts a job there only
once it will not retry it), kept ``DEAD_LETTER_TTL`` seconds, so
rq-dashboard shows them too. The error kept for each, in its meta
(``dead_letter``), is the exception type and a masked one-line message,
never the stack trace. Requeueing gives a job its retries back.
"""

from datetime import UTC, datetime

from flask import current_app
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from project.observability.logging import get_logger, redact_text
from project.redis_client import get_redis
from project.tasks import tracking

log = get_logger(__name__)


def registries():
    """The dead-letter registry of each configured queue."""
    return [FailedJobRegistry(name, connection=get_redis()) for name in current_app.config["RQ_QUEUE_NAMES"]]


def count_by_queue(connection, queue_names):
    """``{queue: dead letters}``, read without RQ's cleanup (cheap enough for every scrape)."""
    return {name: FailedJobRegistry(name, connection=connection).get_job_count(cleanup=False) for name in queue_names}


def _error_of(job):
    """The kept error, or (for a job dead-lettered without our tracking) the last line of RQ's traceback."""
    kept = job.meta.get("dead_letter") or job.meta.get("last_error")
    if kept:
        return kept
    latest = job.latest_result()
    text = latest.exc_string.strip().splitlines()[-1] if latest and latest.exc_string else "unknown error"
    kind, _, message = redact_text(text).partition(": ")
    ended = job.ended_at.replace(tzinfo=UTC).isoformat() if job.ended_at else None
    return {"type": kind[:100], "message": message[:500], "failed_at": ended, "attempt": job.meta.get("attempt")}


def describe(job):
    """One dead letter: id, function, queue, when it failed and its error."""
    error = _error_of(job)
    return {"job_id": job.id, "function": tracking.function_name(job), "queue": job.origin,
            "failed_at": error.get("failed_at"), "attempt": error.get("attempt"),
            "error": f"{error['type']}: {error['message']}" if error.get("message") else error["type"]}


def list_dead():
    """Every dead letter in the configured queues, oldest first."""
    found = []
    for registry in registries():
        ids = registry.get_job_ids()
        found.extend(describe(job) for job in Job.fetch_many(ids, connection=get_redis()) if job is not None)
    return sorted(found, key=lambda entry: entry["failed_at"] or "")


def _find(job_id):
    """The dead letter ``job_id`` and its registry, or (None, None)."""
    for registry in registries():
        if job_id in registry:
            try:
                return Job.fetch(job_id, connection=get_redis()), registry
            except NoSuchJobError:
                registry.remove(job_id)
    return None, None


def requeue(job_id):
    """Put the dead letter back on its queue with its retries restored; False when there is no such one."""
    job, registry = _find(job_id)
    if job is None:
        return False
    job.retries_left = job.meta.get("retry_max") or None
    job.meta.pop("dead_letter", None)
    job.meta["requeued_at"] = datetime.now(UTC).isoformat()
    try:
        registry.requeue(job)
    except InvalidJobOperation:
        return False  # someone else requeued or purged it just now
    log.info("dead_letter_requeued", dead_job_id=job.id, function=tracking.function_name(job), queue=job.origin)
    return True


def purge(job_id):
    """Delete the dead letter and its job; False when there is no such one."""
    job, registry = _find(job_id)
    if job is None:
        return False
    registry.remove(job, delete_job=True)
    log.info("dead_letter_purged", dead_job_id=job.id, function=tracking.function_name(job), queue=job.origin)
    return True
