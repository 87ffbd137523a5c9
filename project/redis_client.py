"""The process's Redis client (RQ, and later limits, cache and shared state).

redis-py opens connections lazily and re-creates its pool after a fork, so
one client per app is safe in gunicorn workers and RQ work horses.
"""

import redis
from flask import current_app


def init_app(app):
    """Create the client from ``REDIS_URL``; no connection is made yet."""
    app.extensions["redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"],
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=30,
    )


def get_redis():
    """The current app's Redis client."""
    return current_app.extensions["redis"]
