"""Job functions of the system tests, importable by the cluster's RQ workers.

Each run is recorded in Redis (``system:runs``) with the pid of the worker
that forked the work horse, so a test can count runs per job and per worker.
"""

import os
import time

from project.redis_client import get_redis

RUNS = "system:runs"


def record(key, seconds=0.0):
    """Sleep ``seconds`` (a job in progress, for kills), then record one completed run of ``key``."""
    time.sleep(seconds)
    get_redis().rpush(RUNS, f"{key}|{os.getppid()}")
    return key


def runs():
    """Every recorded run: ``[(key, worker pid)]``."""
    return [tuple(item.decode().split("|")) for item in get_redis().lrange(RUNS, 0, -1)]
