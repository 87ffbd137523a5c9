"""Connection pool figures from ``psycopg_pool``'s ``get_stats()``, for Prometheus and health details.

Gauges use ``multiprocess_mode="livesum"``: under gunicorn, ``/metrics`` adds
up the pools of the live workers. psycopg_pool's counters only grow, so the
Prometheus counters advance by the difference since this process last looked
(``get_stats``, never ``pop_stats``, so nothing else loses its figures).
"""

import threading
import time
import weakref

from flask import current_app
from prometheus_client import Counter, Gauge

from project.observability.logging import get_logger

POOL_SIZE = Gauge("db_pool_size", "Connections open in the pool.", multiprocess_mode="livesum")
POOL_AVAILABLE = Gauge("db_pool_available", "Idle connections ready in the pool.", multiprocess_mode="livesum")
POOL_MAX_SIZE = Gauge("db_pool_max_size", "The most connections the pool may open.", multiprocess_mode="livesum")
POOL_WAITING = Gauge("db_pool_requests_waiting", "Requests queued for a connection now.", multiprocess_mode="livesum")
# Prometheus counter -> (psycopg_pool counter, scale to the counter's unit).
COUNTERS = {
    Counter("db_pool_requests_total", "Connections asked of the pool."): ("requests_num", 1),
    Counter("db_pool_requests_errors_total", "Requests for a connection that timed out or failed."):
        ("requests_errors", 1),
    Counter("db_pool_wait_seconds_total", "Time requests spent queued for a connection."):
        ("requests_wait_ms", 0.001),
    Counter("db_pool_connection_errors_total", "Failed attempts to open a connection."): ("connections_errors", 1),
    Counter("db_pool_connections_lost_total", "Connections found broken and discarded."): ("connections_lost", 1),
}

log = get_logger(__name__)
REFRESH_SECONDS = 1.0  # how stale a worker's figures may be between scrapes
_last = weakref.WeakKeyDictionary()  # pool -> its counters when this process last looked
_lock = threading.Lock()


def _pool_of(target):
    """The open psycopg pool behind an app, a ``ProcessPool`` or a pool; None when there is none yet."""
    if target is None:
        target = current_app
    if hasattr(target, "extensions"):  # a Flask app
        target = target.extensions.get("db")
    if hasattr(target, "peek"):  # the per-process holder: never create a pool just to report on it
        target = target.peek()
    return target


def update_pool_metrics(app_or_pool):
    """Copy the pool's figures into the Prometheus metrics. Cheap, and never raises."""
    try:
        pool = _pool_of(app_or_pool)
        if pool is None:
            return
        if pool.closed:
            for gauge in (POOL_SIZE, POOL_AVAILABLE, POOL_WAITING):
                gauge.set(0)
            return
        stats = pool.get_stats()
        POOL_SIZE.set(stats.get("pool_size", 0))
        POOL_AVAILABLE.set(stats.get("pool_available", 0))
        POOL_MAX_SIZE.set(stats.get("pool_max", 0))
        POOL_WAITING.set(stats.get("requests_waiting", 0))
        with _lock:
            last = _last.get(pool, {})
            for counter, (key, scale) in COUNTERS.items():
                delta = stats.get(key, 0) - last.get(key, 0)
                if delta > 0:
                    counter.inc(delta * scale)
            _last[pool] = {key: stats.get(key, 0) for key, _ in COUNTERS.values()}
    except Exception as exc:  # metrics must never fail a request
        log.warning("pool_metrics_failed", error=type(exc).__name__)


def pool_stats(app_or_pool=None):
    """The pool's figures as a dict (for ``/health/details``); ``open`` is False before first use."""
    pool = _pool_of(app_or_pool)
    if pool is None or pool.closed:
        return {"open": False, "size": 0, "available": 0, "in_use": 0, "waiting": 0}
    stats = pool.get_stats()
    size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
    return {
        "open": True,
        "min": stats.get("pool_min", 0),
        "max": stats.get("pool_max", 0),
        "size": size,
        "available": available,
        "in_use": max(size - available, 0),
        "waiting": stats.get("requests_waiting", 0),
        "requests": stats.get("requests_num", 0),
        "requests_queued": stats.get("requests_queued", 0),
        "wait_ms": stats.get("requests_wait_ms", 0),
        "timeouts": stats.get("requests_errors", 0),
        "connection_errors": stats.get("connections_errors", 0),
        "connections_lost": stats.get("connections_lost", 0),
    }


def init_app(app):
    """Refresh the pool figures at each scrape, and after requests at most every ``REFRESH_SECONDS``.

    A scrape reaches one worker, so the others keep their figures fresh themselves
    (``livesum`` adds up every live worker's): once a second, not on every request.
    """
    from project.observability import metrics

    due = [0.0]

    def refresh(_exc):
        now = time.monotonic()
        if now >= due[0]:
            due[0] = now + REFRESH_SECONDS
            update_pool_metrics(app)

    app.teardown_request(refresh)
    metrics.before_scrape(app, update_pool_metrics)
