"""flask-limiter's ``Limiter`` with three changes: per-app storage, one round trip per limit, fail open.

- Per-app storage. One ``Limiter`` lives in ``project.extensions``, but a process
  may build several apps (tests do, each on its own Redis), and flask-limiter
  keeps its strategy on the object. Here each app keeps its own in
  ``app.extensions`` and the object looks it up for the current app.
- One round trip per limit. With headers on, flask-limiter reads every limit's
  window again after the hit (DEPENDENCIES.md: a third of the throughput).
  ``ReportingMovingWindow`` sends the hit and the window read in one pipeline
  and keeps the window for the rest of the request, so headers cost nothing.
- Redis down. The check is let through (``RATELIMIT_FAIL_OPEN``, the default) or
  refused with 503; either way counted, and logged once per outage per process.
"""

import time

import redis
from flask import current_app, has_request_context, request
from flask_limiter import Limiter
from limits.errors import StorageError
from limits.strategies import MovingWindowRateLimiter
from limits.util import WindowStats
from prometheus_client import Counter
from redis.exceptions import NoScriptError

from project.errors import ServiceUnavailable
from project.observability import metrics
from project.observability.logging import get_logger, redact_text
from project.protection import policies, roundtrip

log = get_logger(__name__)
STORAGE_ERRORS = (redis.RedisError, StorageError)
REJECTIONS = Counter("ratelimit_rejections_total", "Requests refused with 429 by a rate limit, by route and tier.",
                     ("route", "tier"))
STORAGE_ERRORS_TOTAL = Counter("ratelimit_storage_errors_total",
                               "Rate-limit checks that could not reach Redis (let through when failing open).")
_WINDOWS = "store.ratelimit.windows"  # request.environ: limit key -> WindowStats read with its hit
_EARLY = "store.ratelimit.early"  # request.environ: the outcome of a check made at the block check


def _remember(key, stats):
    if has_request_context():
        request.environ.setdefault(_WINDOWS, {})[key] = stats


class ReportingMovingWindow(MovingWindowRateLimiter):
    """limits' moving window on Redis, reading the window in the same round trip as each hit.

    It runs the library's own two Lua scripts in one pipeline; where they are not
    loaded yet (a new or restarted server), the library's calls load them, once.
    """

    def hit(self, item, *identifiers, cost=1):
        """Consume ``cost`` from the limit; True when allowed. Keeps the window for ``get_window_stats``."""
        storage = self.storage
        key = item.key_for(*identifiers)
        redis_key, now, expiry = storage.prefixed_key(key), time.time(), item.get_expiry()
        plan = roundtrip.pending() if has_request_context() else None
        if plan is not None:  # this request's one round trip: block check, this hit, cache lookup
            acquired, oldest, entries = plan.send(storage, (redis_key, now, item.amount, expiry, cost))
            start = float(oldest) if oldest else now
            _remember(key, WindowStats(start + expiry, item.amount - entries))
            return acquired
        pipe = storage.get_connection().pipeline(transaction=False)
        pipe.evalsha(storage.lua_acquire_moving_window.sha, 1, redis_key, now, item.amount, expiry, cost)
        pipe.evalsha(storage.lua_moving_window.sha, 1, redis_key, now - expiry, item.amount)
        acquired, window = pipe.execute(raise_on_error=False)
        if isinstance(acquired, NoScriptError) or isinstance(window, NoScriptError):
            if isinstance(acquired, NoScriptError):
                acquired = super().hit(item, *identifiers, cost=cost)
            stats = super().get_window_stats(item, *identifiers)
        else:
            for result in (acquired, window):
                if isinstance(result, Exception):
                    raise result
            # As MovingWindowRateLimiter.get_window_stats: window is [oldest entry's time, entries], or empty.
            start, entries = (float(window[0]), int(window[1])) if window else (now, 0)
            stats = WindowStats(start + expiry, item.amount - entries)
        _remember(key, stats)
        return bool(acquired)

    def get_window_stats(self, item, *identifiers):
        """``(reset time, remaining)``: the one read with this request's hit, else from Redis."""
        key = item.key_for(*identifiers)
        found = request.environ.get(_WINDOWS, {}).get(key) if has_request_context() else None
        return found or super().get_window_stats(item, *identifiers)


class AppLimiter(Limiter):
    """The project's limiter: the policies of ``project.protection.policies``.

    Its headers are written by ``ratelimits.add_headers`` (flask-limiter's own would
    put ``Retry-After`` on every response, and cost a second pass over the limits).
    """

    def __init__(self):
        """Unbound, with every policy; rejections are counted."""
        super().__init__(
            policies.client_ip,
            application_limits=policies.application_limits(),
            headers_enabled=False,
            strategy="moving-window",
            on_breach=count_rejection,
        )
        self.request_filter(policies.is_exempt)

    def init_app(self, app):
        """Bind to ``app`` (its ``RATELIMIT_STORAGE_URI``); the app keeps its own strategy."""
        super().init_app(app)
        app.extensions["ratelimit_strategy"] = ReportingMovingWindow(self._storage)
        app.extensions["ratelimit_outage"] = {"since": None}

    @property
    def limiter(self):
        """The current app's strategy (flask-limiter would use one for every app)."""
        return current_app.extensions["ratelimit_strategy"]

    @property
    def storage(self):
        """The current app's storage."""
        return self.limiter.storage

    def check_early(self):
        """The check, made at the block check (``roundtrip``); its outcome is raised at the limiter's own hook.

        ``roundtrip.Blocked`` passes through at once, with nothing of the check kept.
        """
        try:
            self._check_request_limit()
        except roundtrip.Blocked:
            self.context.reset()
            raise
        except Exception as error:  # noqa: BLE001 - every outcome waits for its usual place
            request.environ[_EARLY] = error
        else:
            request.environ[_EARLY] = None

    def _check_request_limit(self, callable_name=None, in_middleware=True):
        """flask-limiter's check (``RateLimitExceeded`` and a bad token's 401 pass through); Redis down is ours."""
        if in_middleware and callable_name is None and _EARLY in request.environ:
            error = request.environ.pop(_EARLY)
            if error is not None:
                raise error
            return
        if request.method in roundtrip.READS and roundtrip.current() is None:  # a signed-in read
            cache = roundtrip.cache_plan()
            if cache is not None:  # its first limit hit brings its cache lookup along
                request.environ[roundtrip.PLAN] = roundtrip.Plan(None, cache)
        try:
            super()._check_request_limit(callable_name, in_middleware)
        except STORAGE_ERRORS as error:
            self.context.reset()  # no headers from a half-done check
            storage_unavailable(error)
        else:
            if self.context.view_rate_limits:  # this request reached Redis (exempt ones do not)
                storage_available()


def count_rejection(_request_limit):
    """on_breach: count a 429 by route template and the caller's tier."""
    REJECTIONS.labels(metrics.route(request), policies.caller_tier()).inc()


def storage_unavailable(error):
    """Redis is unreachable: count it, warn once per outage, and let the request through or refuse it."""
    STORAGE_ERRORS_TOTAL.inc()
    fail_open = current_app.config["RATELIMIT_FAIL_OPEN"]
    outage = current_app.extensions["ratelimit_outage"]
    if outage["since"] is None:
        outage["since"] = time.monotonic()
        log.warning("ratelimit_storage_unavailable", fail_open=fail_open, error_type=type(error).__name__,
                    error=redact_text(str(error))[:200])
    if not fail_open:
        raise ServiceUnavailable("Rate limiting is unavailable; retry later.")


def storage_available():
    """A check reached Redis: after an outage, say it is over (once)."""
    outage = current_app.extensions["ratelimit_outage"]
    if outage["since"] is not None:
        log.info("ratelimit_storage_recovered", outage_seconds=round(time.monotonic() - outage["since"], 1))
        outage["since"] = None
