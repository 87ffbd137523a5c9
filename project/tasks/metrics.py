"""Job metrics on the web app's ``/metrics``, read from Redis at scrape time.

Workers write outcome counts and duration buckets to Redis hashes
(``project.tasks.tracking``); every web instance exports the same figures,
so dashboards and alerts take ``max`` over instances, never ``sum``.
Registry sizes (started, scheduled, failed) and the dead letters per queue
are read here too; the queue lengths, oldest job age and worker count come
from the health check's ``queue_figures``.
"""

import redis
from flask import current_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from project.observability import metrics
from project.observability.logging import get_logger
from project.redis_client import get_redis
from project.tasks import dead
from project.tasks.tracking import COUNTERS, COUNTS_KEY, DURATION_BUCKETS, DURATIONS_KEY

log = get_logger(__name__)
HELP = {
    "started": "Job executions started, by function.",
    "succeeded": "Job executions that finished, by function.",
    "failed": "Job executions that failed (raised, timed out, work horse or worker killed), by function.",
    "retried": "Failed executions that will be retried, by function.",
    "dead_lettered": "Failed executions with no retries left (now dead letters), by function.",
}
REGISTRIES = {"started": StartedJobRegistry, "scheduled": ScheduledJobRegistry, "failed": FailedJobRegistry}


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def counter_families(counts):
    """``rq_jobs_<outcome>_total{function}`` from the counts hash."""
    families = {name: CounterMetricFamily(f"rq_jobs_{name}_total", HELP[name], labels=("function",))
                for name in COUNTERS}
    for field, value in counts.items():
        name, _, function = _text(field).partition("|")
        if name in families:
            families[name].add_metric((function,), float(value))
    return list(families.values())


def duration_family(durations):
    """``rq_job_duration_seconds{function,outcome}`` from the bucket hash (cumulative buckets built here)."""
    series = {}
    for field, value in durations.items():
        function, outcome, part = _text(field).rsplit("|", 2)
        series.setdefault((function, outcome), {})[part] = float(value)
    family = HistogramMetricFamily("rq_job_duration_seconds", "Job execution time, by function and outcome.",
                                   labels=("function", "outcome"))
    for labels, parts in sorted(series.items()):
        running, buckets = 0.0, []
        for index, bound in enumerate((*DURATION_BUCKETS, float("inf"))):
            running += parts.get(str(index), 0.0)
            buckets.append(("+Inf" if bound == float("inf") else str(bound), running))
        family.add_metric(labels, buckets, sum_value=parts.get("sum", 0.0))
    return family


def collect_jobs():
    """Scrape time: outcome counters, durations, registry sizes and dead letters per queue."""
    client = get_redis()
    names = current_app.config["RQ_QUEUE_NAMES"]
    try:
        counts, durations = client.hgetall(COUNTS_KEY), client.hgetall(DURATIONS_KEY)
        sizes = {(queue, registry): cls(queue, connection=client).get_job_count(cleanup=False)
                 for queue in names for registry, cls in REGISTRIES.items()}
        dead_letters = dead.count_by_queue(client, names)
    except redis.RedisError as error:
        # The rest of /metrics still answers; the queues health component shows Redis DOWN.
        log.warning("job_metrics_unavailable", error_type=type(error).__name__)
        return
    yield from counter_families(counts)
    yield duration_family(durations)
    registry_jobs = GaugeMetricFamily("rq_registry_jobs", "Jobs in each RQ registry (started, scheduled, failed).",
                                      labels=("queue", "registry"))
    for (queue, registry), size in sizes.items():
        registry_jobs.add_metric((queue, registry), size)
    yield registry_jobs
    dead_gauge = GaugeMetricFamily("rq_jobs_dead_letter", "Dead letters (failed, no retries left) per queue.",
                                   labels=("queue",))
    for queue, size in dead_letters.items():
        dead_gauge.add_metric((queue,), size)
    yield dead_gauge


def init_app(app):
    """Export the job metrics on /metrics."""
    metrics.add_collector(app, collect_jobs)
