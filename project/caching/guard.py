"""The cache behind its circuit breaker (``project.protection.breakers``, named ``cache``).

A healthy cache read must stay one round trip to Redis, and the breaker's
permit is one more. So while all is well a call goes straight to Redis; the
first failure this process sees routes its calls through the shared breaker
(which counts the failures, opens for every worker and instance, and lets
trial calls through) until the breaker reports closed again. While the
breaker is open, this process remembers it until the reset timeout and skips
Redis entirely: the read is a bypass, served from the database.
"""

import time

from flask import current_app

from project.caching.store import FAILURES
from project.observability.logging import get_logger

log = get_logger(__name__)


class Bypassed(Exception):
    """The cache was not tried: its circuit is open."""


class Failed(Exception):
    """The cache was tried and Redis failed (the cause is chained)."""


def _breaker():
    """The app's ``cache`` breaker, or None when the app has no breakers."""
    breakers = current_app.extensions.get("breakers")
    return breakers.get("cache") if breakers else None


class CacheGuard:
    """Per process: whether to call Redis directly, through the breaker, or not at all."""

    def __init__(self):
        """Start healthy."""
        self.suspect = False  # a failure was seen: go through the breaker until it is closed
        self.open_until = 0.0  # monotonic time until which the breaker said "open"

    def direct(self):
        """True while a call would go straight to Redis (no failure seen, circuit not open)."""
        return not self.suspect and not (self.open_until and time.monotonic() < self.open_until)

    def call(self, func, /, *args, **kwargs):
        """``func(*args, **kwargs)``; raises ``Bypassed`` (circuit open) or ``Failed`` (Redis error)."""
        if self.open_until and time.monotonic() < self.open_until:
            raise Bypassed
        breaker = _breaker() if self.suspect else None
        if breaker is None:
            try:
                return func(*args, **kwargs)
            except FAILURES as error:
                self.failed(error)
                raise Failed from error
        from project.protection.breakers import CircuitOpen

        try:
            with breaker.guard():
                result = func(*args, **kwargs)
        except CircuitOpen as error:
            self.open_until = time.monotonic() + error.retry_after
            raise Bypassed from None
        except FAILURES as error:
            raise Failed from error
        self.open_until = 0.0
        if breaker.status()["state"] == "closed":
            self.suspect = False
            log.info("cache_recovered")
        return result

    def failed(self, error):
        """A direct call failed: tell the breaker, and go through it from now on."""
        if not self.suspect:
            log.warning("cache_unavailable", error=type(error).__name__, fallback="reads served from the database")
        self.suspect = True
        breaker = _breaker()
        if breaker is None:
            return
        from project.protection.breakers import CircuitOpen

        try:
            with breaker.guard():
                raise error  # counted by the breaker as this dependency failing
        except CircuitOpen as open_error:
            self.open_until = time.monotonic() + open_error.retry_after
        except FAILURES:
            pass
