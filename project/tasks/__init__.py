"""Background jobs on RQ: queues, enqueueing with retries and correlation, and their wiring.

Job functions live with their feature (``project.store.reports.jobs``) and
are registered by dotted name in ``project.tasks.registry`` (queue, timeout,
retries); the worker (``flask rq worker``) builds the app once and runs every
job inside its app context. Queues are ``RQ_QUEUES`` (``high,default,low``),
listened to in that order.
"""

from flask import current_app
from rq import Callback, Queue, Retry

from project.observability.correlation import get_request_id, get_trace_context
from project.redis_client import get_redis
from project.tasks import registry


def init_app(app):
    """Queue names, the ``flask tasks`` commands, job metrics on /metrics and rq-dashboard."""
    from project.tasks import cli, dashboard, metrics

    app.config.setdefault("RQ_QUEUE_NAMES", [name.strip() for name in app.config["RQ_QUEUES"].split(",")])
    app.cli.add_command(cli.tasks_cli)
    metrics.init_app(app)
    dashboard.init_app(app)


def get_queue(name="default"):
    """The named RQ queue on the app's Redis."""
    return Queue(name, connection=get_redis())


def retry_policy(retries):
    """An RQ ``Retry`` of ``retries`` attempts with exponential backoff and jitter, or None for none."""
    if not retries:
        return None
    config = current_app.config
    return Retry(max=retries, interval=registry.backoff_intervals(
        retries, base=config["JOB_RETRY_BASE_SECONDS"], cap=config["JOB_RETRY_MAX_SECONDS"],
        jitter=config["JOB_RETRY_JITTER"]))


def enqueue(func, *args, queue=None, user_id=None, timeout=None, retries=None, **kwargs):
    """Enqueue ``func(*args, **kwargs)``; the job carries who asked and the request's correlation.

    A registered job kind brings its queue, timeout and ``JOB_MAX_RETRIES``;
    ``queue``, ``timeout`` and ``retries`` override them. Every job gets the
    failure callback that dead-letters it when a worker dies under it.
    """
    from project.tasks import tracking

    config = current_app.config
    kind = registry.kind_of(func)
    if retries is None:
        retries = config["JOB_MAX_RETRIES"] if kind and kind.retries else 0
    trace = get_trace_context()
    return get_queue(queue or (kind.queue if kind else "default")).enqueue(
        func, *args, **kwargs,
        job_timeout=timeout or (config[kind.timeout_setting] if kind else None),
        result_ttl=config["JOB_RESULT_TTL"],
        failure_ttl=config["DEAD_LETTER_TTL"],  # how long a dead letter (and its error) is kept
        retry=retry_policy(retries),
        on_failure=Callback(tracking.on_failure),
        meta={"user_id": user_id, "request_id": get_request_id(), "traceparent": trace.traceparent,
              "tracestate": trace.tracestate, "retry_max": retries},
    )
