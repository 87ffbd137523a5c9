"""The process's Redis clients (RQ, limits, cache, breakers, health, shared state).

``REDIS_URL`` is either one server (``redis://``, ``rediss://`` for TLS,
``unix://``) or a Redis Sentinel deployment,
``redis+sentinel://[:password@]host:port[,host:port...]/service_name``: the
sentinels are asked for the current primary, and a client reconnects to the
new one after a failover. flask-limiter's storage (``limits``) and
rq-dashboard read the same URL forms, so one variable serves everything.

redis-py opens connections lazily and re-creates its pool after a fork, so
one client per app is safe in gunicorn workers and RQ work horses.
"""

import redis
from flask import current_app
from redis_sentinel_url import connect as connect_sentinel

SENTINEL_SCHEME = "redis+sentinel://"


def connect(url, **options):
    """A client for ``url`` with redis-py ``options`` (timeouts, ...); no connection is made yet.

    For a Sentinel URL the options apply to the primary's connections, and the
    sentinels themselves get the same timeouts.
    """
    if not url.startswith(SENTINEL_SCHEME):
        return redis.Redis.from_url(url, **options)
    timeouts = {key: options[key] for key in ("socket_timeout", "socket_connect_timeout") if key in options}
    _, client = connect_sentinel(url, sentinel_options=timeouts, client_options=options)
    return client


def init_app(app):
    """Create the app's client from ``REDIS_URL``."""
    app.extensions["redis"] = connect(
        app.config["REDIS_URL"],
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=30,
    )


def get_redis():
    """The current app's Redis client."""
    return current_app.extensions["redis"]
