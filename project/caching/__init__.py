"""The response cache: product detail and list bodies in Redis, with HTTP caching on top.

- ``catalogue``: what is cached (``product_cache``, ``product_list_cache``), the
  invalidation calls the routes make after a commit, and ``warm_cache``.
- ``responses``: the view decorator (ETag, 304, Cache-Control, stampede lock).
- ``store``: keys, versioned namespaces and the Lua scripts (one round trip a hit).
- ``guard``: the ``cache`` circuit breaker; ``metrics``: ``cache_requests_total``.

Flask-Caching (``project.extensions.cache``, ``CACHE_TYPE=RedisCache``) is bound
to the same client and key prefix, for simple ``cache.get``/``set`` elsewhere;
the cached views use the scripts instead of ``@cache.cached``, which would cost
a round trip for the version and another for the entry. Importing this package
has no side effects (``warm_cache`` is scheduled as a job by dotted name).
"""

import time

from project.caching.catalogue import (
    clear_all,
    product_cache,
    product_changed,
    product_created,
    product_list_cache,
    stock_changed,
    warm_cache,
)

__all__ = ["clear_all", "init_app", "product_cache", "product_changed", "product_created", "product_list_cache",
           "stock_changed", "warm_cache"]
HEALTH_KEY = "health"


class CacheState:
    """One app's cache: its store, its guard, and whether caching is on."""

    def __init__(self, store, guard, enabled):
        """Hold the parts the views and invalidations use."""
        self.store, self.guard, self.enabled = store, guard, enabled


def check_cache(timeout):
    """A write and a read through Flask-Caching (Redis out of memory refuses writes, which PING would miss)."""
    from flask import current_app

    from project.extensions import cache
    from project.observability import health_checks

    started = time.perf_counter()
    cache.set(HEALTH_KEY, b"ok", timeout=60)
    readable = cache.get(HEALTH_KEY) == b"ok"
    state = current_app.extensions["caching"]
    details = {"round_trip_ms": round((time.perf_counter() - started) * 1000, 2), "key_prefix": state.store.prefix,
               "enabled": state.enabled, "breaker": "open" if state.guard.open_until > time.monotonic() else
               ("watching" if state.guard.suspect else "closed")}
    return (health_checks.UP if readable and state.enabled else health_checks.DEGRADED), details


def init_app(app):
    """Bind Flask-Caching to the cache's Redis client; the cached views' state; the health check; the CLI."""
    from project.caching import commands, guard, store
    from project.extensions import cache
    from project.observability import health_checks

    client = store.make_client(app.config)
    cache_store = store.CacheStore(client, app.config)
    cache.init_app(app, config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_HOST": client,
                                "CACHE_KEY_PREFIX": cache_store.prefix,
                                "CACHE_DEFAULT_TIMEOUT": app.config["CACHE_PRODUCT_TTL"]})
    app.extensions["caching"] = CacheState(cache_store, guard.CacheGuard(), app.config["CACHE_ENABLED"])
    health_checks.register_check(app, "cache", check_cache)
    app.cli.add_command(commands.cache_cli)
