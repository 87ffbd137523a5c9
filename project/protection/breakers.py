"""Circuit breakers around the service's dependencies, their state shared through Redis.

One breaker per dependency (``BREAKER_NAMES`` in config: ``webhook``, the
order-placed webhook; ``cache``, the Redis-backed cache). Closed, calls go
through; ``failure_threshold`` failures in a row open it; open, calls fail
fast with ``CircuitOpen`` (a 503 ``dependency-unavailable`` problem with
``Retry-After`` on the request path; a later retry for jobs, see
``retry_later``); after ``reset_timeout`` seconds it half-opens and lets
``half_open_calls`` trial calls through: all succeed and it closes, one fails
and it opens again. Every worker and instance sees the same state, kept in
Redis under ``<SERVICE_NAME>:breaker:<name>`` (``breaker_store``).

Use it around a call, or around a block::

    from project.protection import breakers

    status = breakers.get("webhook").call(post_json, url, payload, timeout=5)
    try:
        with breakers.get("cache").guard():
            value = client.get(key)
    except breakers.CircuitOpen:
        value = None  # bypass the cache while it is failing

Only the exceptions in ``FAILURES`` count as the dependency failing; anything
else raised inside counts as a success (a bug of ours must not open a circuit).

pybreaker's ``CircuitRedisStorage`` is not used: it counts with INCR, then
GETs the count and SETs the new state in separate commands, so two workers
can both cross the threshold and both "open" (each telling its listeners,
and every other process re-announces a change it merely noticed); every
process lets trial calls through at once when half-open; its ``opened_at``
has whole-second precision from each host's own clock; and it holds a
process-wide lock for the whole guarded call. Here each step is one Lua
script, so each transition happens, and is logged, exactly once.
"""

import contextlib
import logging
import math
import random

import redis
from flask import current_app
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from rq import Retry

from project import redis_client
from project.config_defaults import BREAKER_NAMES
from project.errors import ServiceUnavailable
from project.observability import health_checks, metrics
from project.observability.logging import get_logger
from project.outbound import OutboundError
from project.protection.breaker_state import CLOSED, HALF_OPEN, OPEN, STATES, Policy
from project.protection.breaker_store import STORE_RETRY_SECONDS, BreakerStore

log = get_logger(__name__)
# What counts as each dependency failing (the webhook: no answer in time, or not a 2xx; the cache: Redis errors).
FAILURES = {"webhook": (OutboundError,), "cache": (redis.RedisError, OSError)}

SHORT_CIRCUITED = Counter("circuit_breaker_short_circuited_total",
                          "Calls refused without being tried, because their breaker was open.", ("breaker",))
TRANSITIONS = Counter("circuit_breaker_transitions_total", "Breaker state changes (each counted by the process "
                      "that made it).", ("breaker", "from_state", "to_state"))
STORE_ERRORS = Counter("circuit_breaker_store_errors_total",
                       "Reads or writes of breaker state that Redis did not answer (local state used instead).")


class CircuitOpen(ServiceUnavailable):
    """A call refused because its dependency's breaker is open; ``retry_after`` is seconds until a trial."""

    slug = "dependency-unavailable"
    expected = True  # an answer the breaker chose, logged as a warning: the transition was logged once already

    def __init__(self, breaker, wait_ms):
        """Name the breaker; round the wait up to whole seconds (at least 1) for ``Retry-After``."""
        self.breaker = breaker
        self.retry_after = max(1, math.ceil(wait_ms / 1000))
        super().__init__(f"Calls to the {breaker} service are paused after repeated failures; "
                         f"retry after {self.retry_after} s.", retry_after=self.retry_after)


class Breaker:
    """One dependency's breaker; every process's ``Breaker`` of the same name shares one state."""

    def __init__(self, name, policy, store, *, key_prefix, failures):
        self.name, self.policy, self.failures = name, policy, failures
        self.key = f"{key_prefix}:breaker:{name}"
        self._store = store

    def call(self, func, /, *args, **kwargs):
        """``func(*args, **kwargs)`` through the breaker; raises ``CircuitOpen`` without calling it when open."""
        with self.guard():
            return func(*args, **kwargs)

    @contextlib.contextmanager
    def guard(self):
        """Run a block through the breaker: ``CircuitOpen`` on entry when open; its failures are counted."""
        permit = self._store.acquire(self.key, self.policy)
        if permit.changed_from:
            self._changed(permit.changed_from, permit.state, "reset timeout elapsed; trial calls let through",
                          permit.shared)
        if not permit.allowed:
            SHORT_CIRCUITED.labels(self.name).inc()
            raise CircuitOpen(self.name, permit.wait_ms)
        failed = None
        try:
            yield
        except self.failures as error:
            failed = type(error).__name__
            raise
        finally:
            self._finish(permit, failed)

    def _finish(self, permit, failed):
        if failed is None and permit.state == CLOSED and not permit.failures:
            return  # the healthy path costs one round trip to Redis: the permit
        outcome = self._store.record(self.key, self.policy, permit, ok=failed is None)
        if outcome.changed_from == CLOSED:
            reason = f"{outcome.failures} failures in a row (last: {failed})"
        elif outcome.changed_from == HALF_OPEN:
            reason = f"trial call failed ({failed})" if outcome.state == OPEN else "trial calls succeeded"
        else:
            return
        self._changed(outcome.changed_from, outcome.state, reason, permit.shared)

    def _changed(self, old, new, reason, shared):
        """Log and count a transition; only the caller whose script made it gets here."""
        TRANSITIONS.labels(self.name, old, new).inc()
        log.log(logging.WARNING if new == OPEN else logging.INFO, "circuit_breaker_state_changed",
                breaker=self.name, reason=reason, shared=shared, **{"from": old, "to": new})

    def status(self):
        """The state now: ``{state, failures, retry_after_seconds, shared, policy}``."""
        return statuses([self])[self.name]


def get(name):
    """The current app's breaker ``name`` (``webhook`` or ``cache``)."""
    return current_app.extensions["breakers"][name]


def statuses(breakers=None):
    """Each breaker's state (all of the app's by default), read in one round trip to Redis."""
    breakers = list(current_app.extensions["breakers"].values()) if breakers is None else breakers
    if not breakers:
        return {}
    found = current_app.extensions["breaker_store"].snapshot([(b.key, b.policy) for b in breakers])
    result = {}
    for breaker in breakers:
        state, failures, wait_ms, shared = found[breaker.key]
        result[breaker.name] = {
            "state": state, "failures": failures, "retry_after_seconds": math.ceil(wait_ms / 1000),
            "shared": shared, "failure_threshold": breaker.policy.failure_threshold,
            "reset_timeout": breaker.policy.reset_timeout, "half_open_calls": breaker.policy.half_open_calls}
    return result


def retry_later(error):
    """An RQ ``Retry`` for a job to *return* when it meets ``CircuitOpen``: it runs again once trials may go through.

    The delay is the circuit's ``Retry-After`` plus one second, because RQ schedules to the whole second
    rounding down (without it a job could wake just before trials may go through and be deferred again),
    plus up to a quarter more, so deferred jobs do not all wake for the same trial. Delayed retries
    need RQ's scheduler (``flask rq worker`` runs it); after
    ``BREAKER_JOB_MAX_RETRIES`` the job fails and stays in RQ's failed registry, never silently dropped.
    """
    interval = error.retry_after + 1 + random.randint(0, max(1, error.retry_after // 4))  # noqa: S311 - jitter only
    log.info("job_retry_scheduled", breaker=error.breaker, retry_in_seconds=interval)
    return Retry(max=current_app.config["BREAKER_JOB_MAX_RETRIES"], interval=interval)


def collect_states():
    """Scrape time: ``circuit_breaker_state{breaker,state}``, 1 for each breaker's current state."""
    family = GaugeMetricFamily("circuit_breaker_state", "1 for each breaker's current state (closed, open, "
                               "half_open), read from Redis.", labels=("breaker", "state"))
    for name, status in statuses().items():
        for state in STATES:
            family.add_metric((name, state), 1.0 if status["state"] == state else 0.0)
    yield family


def _health_check(name):
    def check_breaker(timeout):
        """Closed is UP; open, half-open, or known only to this process (Redis unreachable) is DEGRADED."""
        status = get(name).status()
        return (health_checks.UP if status["state"] == CLOSED and status["shared"] else health_checks.DEGRADED), status

    return check_breaker


def _store_failed(error, first):
    STORE_ERRORS.inc()
    if first:  # once per outage and process, not once per call
        log.warning("circuit_breaker_store_unreachable", error=type(error).__name__,
                    fallback=f"this process's own breaker state, Redis retried every {STORE_RETRY_SECONDS:g} s")


def init_app(app):
    """The app's breakers, a health component for each, and their states at each scrape."""
    timeout = app.config["BREAKER_REDIS_TIMEOUT"]
    # A client of its own: a breaker's bookkeeping must wait far less than the app's own Redis calls do.
    client = redis_client.connect(app.config["REDIS_URL"], socket_timeout=timeout, socket_connect_timeout=timeout,
                                  decode_responses=True)
    store = app.extensions["breaker_store"] = BreakerStore(client, _store_failed)
    app.extensions["breakers"] = {
        name: Breaker(name, Policy(**app.config["BREAKER_POLICIES"][name]), store,
                      key_prefix=app.config["SERVICE_NAME"], failures=FAILURES[name])
        for name in BREAKER_NAMES}
    for name in BREAKER_NAMES:
        health_checks.register_check(app, f"breaker_{name}", _health_check(name))
    metrics.add_collector(app, collect_states)
