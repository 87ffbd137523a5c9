"""Health checks: how components are registered and run, and their status as metrics.

Each component check is ``func(timeout) -> (status, details)``; raising makes
the component DOWN with its error. ``HealthChecks`` runs an app's checks
together, each under its own timeout, all under one deadline
(``HEALTH_TIMEOUT``), and reuses the result for ``HEALTH_CACHE_SECONDS`` so a
storm of probes costs one check per process. The core components are in
``health_components``; later concerns register their own (cache, circuit
breakers) with ``register_check``.

Statuses, from best to worst: UP, DEGRADED, DOWN. A critical component DOWN
(the database) makes the service DOWN, and not ready; any other component
not UP makes it DEGRADED, still ready.
"""

import concurrent.futures
import contextvars
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from prometheus_client.core import GaugeMetricFamily

from project.observability import gunicorn_hooks
from project.observability.logging import get_logger, redact_text

UP, DEGRADED, DOWN = "UP", "DEGRADED", "DOWN"
STATUSES = (UP, DEGRADED, DOWN)  # best to worst

log = get_logger(__name__)


class Check:
    """A component check: ``func(timeout)`` returns ``(status, details)`` or raises (DOWN)."""

    def __init__(self, name, func, *, critical=False):
        self.name, self.func, self.critical = name, func, critical

    def run(self, app, timeout):
        """Run the check in an app context; a failure is the component DOWN with its error."""
        started = time.perf_counter()
        result = {"status": DOWN, "critical": self.critical}
        try:
            with app.app_context():
                result["status"], result["details"] = self.func(timeout)
        except Exception as error:  # noqa: BLE001 - any failure of a check is that component DOWN
            result["error"] = f"{type(error).__name__}: {redact_text(str(error)).strip()}"[:500]
        result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return result


def register_check(app, name, func, *, critical=False):
    """Add a component to the readiness and details checks (later concerns add theirs: cache, breakers)."""
    # setdefault: a concern wired in before health.init_app (register_extensions) may register first.
    app.extensions.setdefault("health_checks", []).append(Check(name, func, critical=critical))


# --- running them --------------------------------------------------------------------------------------------


def is_draining():
    """True once gunicorn's master has begun draining after SIGTERM."""
    flag = os.environ.get(gunicorn_hooks.DRAIN_FLAG_ENV)
    return bool(flag) and Path(flag).exists()


def overall(components):
    """DOWN if a critical component is DOWN; DEGRADED if any other is not UP; else UP."""
    if any(c["critical"] and c["status"] == DOWN for c in components.values()):
        return DOWN
    return DEGRADED if any(c["status"] != UP for c in components.values()) else UP


class HealthChecks:
    """Runs the checks of one app, at most once per ``HEALTH_CACHE_SECONDS`` in this process."""

    def __init__(self, app):
        self.app = app
        self.checks = app.extensions["health_checks"]
        self._lock = threading.Lock()
        self._result = None
        self._at = 0.0
        self.checked_at = None  # wall-clock time of the last run, for the details answer

    def components(self):
        """``{name: {status, critical, latency_ms, details | error}}``, fresh or from the last second or two."""
        with self._lock:  # concurrent probes wait for one check instead of each running it
            if self._result is None or time.monotonic() - self._at > self.app.config["HEALTH_CACHE_SECONDS"]:
                self._result = self._run()
                self._at = time.monotonic()
                self.checked_at = datetime.now(UTC)
            return self._result

    def _run(self):
        deadline = self.app.config["HEALTH_TIMEOUT"]
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(self.checks), thread_name_prefix="health")
        futures = {check.name: pool.submit(contextvars.copy_context().run, check.run, self.app, deadline)
                   for check in self.checks}
        concurrent.futures.wait(futures.values(), timeout=deadline + 0.25)
        pool.shutdown(wait=False, cancel_futures=True)  # a hung check must not hold the probe
        results = {}
        for check in self.checks:
            future = futures[check.name]
            results[check.name] = future.result() if future.done() else {
                "status": DOWN, "critical": check.critical, "latency_ms": deadline * 1000,
                "error": f"no answer within {deadline} s"}
        for name, result in results.items():
            if result["status"] != UP:
                log.warning("health_component_not_up", component=name, status=result["status"],
                            error=result.get("error"))
        return results


def get_health():
    """The current app's health runner."""
    return current_app.extensions["health"]


def collect_health():
    """Scrape time: component statuses, check latency, readiness, draining, queue figures."""
    components = get_health().components()
    status = GaugeMetricFamily("store_health_component_status", "1 for the component's current status.",
                               labels=("component", "status"))
    latency = GaugeMetricFamily("store_health_check_duration_seconds", "How long the last check took.",
                                labels=("component",))
    for name, result in components.items():
        for value in STATUSES:
            status.add_metric((name, value), 1.0 if result["status"] == value else 0.0)
        latency.add_metric((name,), result["latency_ms"] / 1000)
    yield status
    yield latency
    draining = is_draining()
    yield GaugeMetricFamily("store_ready", "1 when /health/ready answers 200.",
                            value=float(overall(components) != DOWN and not draining))
    yield GaugeMetricFamily("store_draining", "1 while draining after SIGTERM.", value=float(draining))
    queues = components.get("queues", {}).get("details")
    if queues:
        jobs = GaugeMetricFamily("rq_queue_jobs", "Jobs waiting in each RQ queue.", labels=("queue",))
        age = GaugeMetricFamily("rq_queue_oldest_job_age_seconds", "Age of the oldest waiting job.",
                                labels=("queue",))
        for name, figures in queues["queues"].items():
            jobs.add_metric((name,), figures["jobs"])
            age.add_metric((name,), figures["oldest_job_age_seconds"])
        yield jobs
        yield age
        yield GaugeMetricFamily("rq_workers", "RQ workers registered.", value=queues["workers"])
