"""Periodic jobs: enqueued by whichever worker's maintenance finds them due, once per interval.

Every long-running worker checks the schedule on its maintenance tick
(``WORKER_MAINTENANCE_INTERVAL``). A Redis ``SET NX EX <interval>`` per
periodic job lets exactly one worker across all machines enqueue it per
interval; the others see the key and skip. A periodic job whose function
does not exist is skipped: cache warming is ``project.caching.warm_cache``,
written by the caching concern, and runs every
``CACHE_WARM_SCHEDULE_SECONDS`` once it exists (0 turns it off).
"""

import importlib
import importlib.util
from dataclasses import dataclass

from project.observability.logging import get_logger
from project.tasks import registry

log = get_logger(__name__)
KEY = "store:tasks:schedule:{}"


@dataclass(frozen=True)
class Periodic:
    """``func`` (dotted name) enqueued every ``interval_setting`` seconds (0 or missing: never)."""

    name: str
    func: str
    interval_setting: str


SCHEDULE = (Periodic("cache_warm", registry.CACHE_WARM.func, "CACHE_WARM_SCHEDULE_SECONDS"),)


def exists(func):
    """True when the dotted name ``func`` can be imported (without importing anything that is absent)."""
    module_name, _, attribute = func.rpartition(".")
    try:
        if importlib.util.find_spec(module_name) is None:
            return False
        return callable(getattr(importlib.import_module(module_name), attribute, None))
    except ImportError:
        return False


def enqueue_due(connection, config, schedule=SCHEDULE):
    """Enqueue each periodic job whose interval has passed since any worker last enqueued it; return them."""
    from project import tasks

    enqueued = []
    for periodic in schedule:
        interval = config.get(periodic.interval_setting) or 0
        if interval <= 0 or not exists(periodic.func):
            continue
        if not connection.set(KEY.format(periodic.name), "1", nx=True, ex=int(interval)):
            continue  # another worker (or an earlier tick) enqueued it within the interval
        job = tasks.enqueue(periodic.func)
        log.info("periodic_job_enqueued", periodic=periodic.name, function=periodic.func, enqueued_job_id=job.id,
                 interval_seconds=interval)
        enqueued.append(job)
    return enqueued
