"""The components every app checks: PostgreSQL (critical), Redis and the RQ queues.

Each is ``check(timeout) -> (status, details)``; raising makes it DOWN with its
error (``health_checks.Check``). Later concerns add their own components
(cache, circuit breakers) with ``health_checks.register_check``.
"""

import time
from datetime import UTC, datetime

from flask import current_app
from rq import Queue, Worker
from rq.job import Job

from project import db, redis_client
from project.db import migrations
from project.db.pool_metrics import pool_stats
from project.observability.health_checks import DEGRADED, DOWN, UP, register_check


def check_database(timeout):
    """``SELECT 1`` under a statement timeout, the pool's figures, and whether migrations are current."""
    with db.get_pool().connection(timeout=timeout) as conn, conn.transaction():
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (str(int(timeout * 1000)),))
        conn.execute("SELECT 1")
        schema = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AS present").fetchone()
        applied = {row["version"] for row in conn.execute("SELECT version FROM schema_migrations")} \
            if schema["present"] else set()  # a new, empty database: every migration is pending
    pending = [version for version, _ in migrations.available() if version not in applied]
    details = {"pool": pool_stats(), "migrations": {"current": not pending, "pending": pending,
                                                         "applied": len(applied)}}
    # Code newer than the schema would fail its queries: not ready until `flask db upgrade` has run.
    return (DOWN if pending else UP), details


def _health_redis():
    """A Redis client with short timeouts, for checks only (the app's client waits longer)."""
    client = current_app.extensions.get("health_redis")
    if client is None:
        timeout = current_app.config["HEALTH_TIMEOUT"]
        client = current_app.extensions["health_redis"] = redis_client.connect(
            current_app.config["REDIS_URL"], socket_timeout=timeout, socket_connect_timeout=timeout)
    return client


def check_redis(timeout):
    """PING: limits, cache, queues and shared state live in Redis."""
    started = time.perf_counter()
    _health_redis().ping()
    return UP, {"ping_ms": round((time.perf_counter() - started) * 1000, 2)}


def queue_figures(client, names):
    """Per queue: jobs waiting and the oldest one's age in seconds; plus the number of workers."""
    now = datetime.now(UTC)
    queues = {}
    for name in names:
        queue = Queue(name, connection=client)
        oldest_age = 0.0
        oldest = queue.get_job_ids(0, 1)
        if oldest:
            job = Job.fetch(oldest[0], connection=client)
            if job.enqueued_at is not None:
                enqueued = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=UTC)
                oldest_age = max((now - enqueued).total_seconds(), 0.0)
        queues[name] = {"jobs": queue.count, "oldest_job_age_seconds": round(oldest_age, 3)}
    return {"queues": queues, "workers": Worker.count(connection=client)}


def check_queues(timeout):
    """RQ: workers present, and no queue holding jobs older than ``QUEUE_MAX_AGE_SECONDS``."""
    figures = queue_figures(_health_redis(), current_app.config["RQ_QUEUE_NAMES"])
    waiting = any(queue["jobs"] for queue in figures["queues"].values())
    stale = any(queue["oldest_job_age_seconds"] > current_app.config["QUEUE_MAX_AGE_SECONDS"]
                for queue in figures["queues"].values())
    return (DEGRADED if stale or (waiting and not figures["workers"]) else UP), figures


def register_core_checks(app):
    """The components every app has: the database (critical), Redis and the queues."""
    app.extensions.setdefault("health_checks", [])
    register_check(app, "database", check_database, critical=True)
    register_check(app, "redis", check_redis)
    register_check(app, "queues", check_queues)
