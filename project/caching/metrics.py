"""The cache's Prometheus metrics (module-level, so they work in gunicorn's multiprocess mode)."""

from prometheus_client import Counter

CACHES = ("product", "products")  # product detail, product list
RESULTS = ("hit", "miss", "error", "bypass")

REQUESTS = Counter("cache_requests_total", "Response-cache lookups by cache and result: hit, miss, error (Redis "
                   "failed, served from the database), bypass (cache skipped: circuit open or disabled).",
                   ("cache", "result"))
LOCK_WAITS = Counter("cache_lock_waits_total", "Misses that waited for another worker's fill, by outcome: "
                     "filled, abandoned (the lock went without a fill), timeout.", ("cache", "outcome"))
INVALIDATIONS = Counter("cache_invalidations_total", "Namespace version bumps after writes, by result (ok, error).",
                        ("result",))

_children = {(cache, result): REQUESTS.labels(cache, result) for cache in CACHES for result in RESULTS}


def counted(cache, result):
    """Count one lookup (children resolved once: this runs on every cached read)."""
    child = _children.get((cache, result))
    if child is None:
        child = _children[(cache, result)] = REQUESTS.labels(cache, result)
    child.inc()
