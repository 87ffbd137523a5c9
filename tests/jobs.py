"""Job functions for the background-task tests, importable by real worker subprocesses.

Attempts are counted in Redis (the work horse is a fresh fork each time, so
nothing in memory survives from one attempt to the next).
"""

import os
import time

from project.redis_client import get_redis


def _attempt(key):
    return get_redis().incr(f"test:attempts:{key}")


def flaky(key, failures):
    """Fail the first ``failures`` attempts, then succeed with the attempt number."""
    attempt = _attempt(key)
    if attempt <= failures:
        raise RuntimeError(f"attempt {attempt} failed: password=hunter2 refused")
    return attempt


def sleep_first(key, seconds):
    """On the first attempt, note the work horse's pid and sleep ``seconds``; later attempts return at once."""
    attempt = _attempt(key)
    if attempt == 1:
        get_redis().set(f"test:horse:{key}", os.getpid())
        time.sleep(seconds)
    return attempt


def tick(key="periodic"):
    """Count a run (a periodic job)."""
    return _attempt(key)


def attempts(key):
    """How many times ``key``'s job has started (read by the tests)."""
    return int(get_redis().get(f"test:attempts:{key}") or 0)
