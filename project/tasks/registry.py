"""The job kinds: which function, on which queue, with which timeout and how many retries.

Each kind points at its feature's job function by dotted name, so nothing is
imported here (jobs stay free of import side effects, and the cache-warming
function may not exist yet). ``project.tasks.enqueue`` looks a function up
here for its defaults; a function not listed gets the ``default`` queue and
no retries unless the caller asks.
"""

import random
from dataclasses import dataclass

QUEUES = ("high", "default", "low")  # the default RQ_QUEUES, highest priority first


@dataclass(frozen=True)
class JobKind:
    """A registered job: ``func`` (dotted name), its queue, the setting with its timeout, retries."""

    name: str
    func: str
    queue: str
    timeout_setting: str
    retries: bool = True  # True: JOB_MAX_RETRIES with backoff; False: fail at once


SALES_REPORT = JobKind("sales_report", "project.store.reports.jobs.generate_sales_report", "default",
                       "REPORT_JOB_TIMEOUT")
ORDER_WEBHOOK = JobKind("order_placed_webhook", "project.store.orders.jobs.notify_order_placed", "high",
                        "WEBHOOK_JOB_TIMEOUT")
# Written by the caching concern; scheduled only when it exists (project.tasks.schedule).
CACHE_WARM = JobKind("cache_warm", "project.caching.warm_cache", "low", "CACHE_WARM_JOB_TIMEOUT")
KINDS = {kind.func: kind for kind in (SALES_REPORT, ORDER_WEBHOOK, CACHE_WARM)}


def dotted_name(func):
    """``func``'s importable name, as RQ stores it (a string is taken as already dotted)."""
    return func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"


def kind_of(func):
    """The registered kind of ``func``, or None."""
    return KINDS.get(dotted_name(func))


def backoff_intervals(retries, *, base, cap, jitter, rand=random.random):
    """Seconds to wait before each retry: ``base * 2**n`` capped at ``cap``, plus up to ``jitter`` of it.

    RQ takes whole seconds. The jitter is drawn once per job, at enqueue time,
    so jobs that fail together (a webhook receiver down) do not retry in step.
    A base of 0 retries at once (tests).
    """
    intervals = []
    for attempt in range(retries):
        delay = min(base * 2 ** attempt, cap)
        intervals.append(round(delay * (1 + jitter * rand())) if delay else 0)
    return intervals
