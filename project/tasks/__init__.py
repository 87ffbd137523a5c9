"""Background jobs on RQ: queues and enqueueing.

Job functions live with their feature (``project.store.reports.jobs``) and
have no side effects on import; the worker (``flask rq worker``) builds the
app once and runs every job inside its app context.
"""

from flask import current_app
from rq import Queue

from project.observability.correlation import get_request_id, get_trace_context
from project.redis_client import get_redis


def init_app(app):
    """Nothing to connect yet: queues are cheap views on the Redis client."""
    app.config.setdefault("RQ_QUEUE_NAMES", [name.strip() for name in app.config["RQ_QUEUES"].split(",")])


def get_queue(name="default"):
    """The named RQ queue on the app's Redis."""
    return Queue(name, connection=get_redis())


def enqueue(func, *args, queue="default", user_id=None, timeout=None, **kwargs):
    """Enqueue ``func(*args, **kwargs)``; the job carries who asked and the request's correlation."""
    trace = get_trace_context()
    return get_queue(queue).enqueue(
        func, *args, **kwargs,
        job_timeout=timeout,
        result_ttl=current_app.config["JOB_RESULT_TTL"],
        failure_ttl=current_app.config["JOB_RESULT_TTL"],
        meta={"user_id": user_id, "request_id": get_request_id(), "traceparent": trace.traceparent,
              "tracestate": trace.tracestate},
    )
