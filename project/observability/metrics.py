"""Prometheus metrics at ``GET /metrics``: requests per route, problems, resources, build, business.

Under gunicorn, ``gunicorn.conf.py`` points ``PROMETHEUS_MULTIPROC_DIR`` at an
emptied directory before any worker starts; every worker writes its samples
there and a scrape, whichever worker answers it, aggregates them all
(prometheus_client's multiprocess mode). Without it (tests, ``flask run``)
the process's own registries are served.

Request metrics come from prometheus-flask-exporter, labelled by the route
*template* (``/api/v1/products/<id:product_id>``); every path that matches
no route shares the label ``<unmatched>``, and every method outside HTTP's
own (gunicorn passes any upper-case token, ``FOOBAR`` included) shares the
method ``_OTHER``, so a scanner cannot create series.
Figures that live elsewhere (process resources, queue depths, component
health, build info) are read at scrape time by collectors.
"""

import hmac
import os
import platform

from flask import Response, request
from prometheus_client import (
    PROCESS_COLLECTOR,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_flask_exporter import PrometheusMetrics

from project.errors import AuthenticationRequired
from project.observability import resources

UNMATCHED = "<unmatched>"
# RFC 9110's methods and PATCH (RFC 5789); any other method is labelled OTHER_METHOD (OpenTelemetry's name).
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
OTHER_METHOD = "_OTHER"
# An API's latencies: a few milliseconds to the 10 s where clients give up.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

IN_PROGRESS = Gauge("http_requests_in_progress", "Requests being served now.", ("method", "route"),
                    multiprocess_mode="livesum")
PROBLEMS = Counter("http_problems_total", "Error answers (problem+json) by route, status and problem type.",
                   ("route", "status", "type"))

# Business metrics: counted once the change is committed.
REGISTRATIONS = Counter("store_registrations_total", "Accounts registered.")
SIGNINS = Counter("store_signins_total", "Sign-in attempts by outcome (success, failure).", ("outcome",))
ORDERS_CREATED = Counter("store_orders_created_total", "Orders placed.")
ORDER_VALUE = Histogram("store_order_value", "Order totals, in the store's currency.",
                        buckets=(5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000))
ITEMS_SOLD = Counter("store_items_sold_total", "Units sold, by product category.", ("category",))
REPORTS_REQUESTED = Counter("store_reports_requested_total", "Sales reports requested.")


def multiprocess_mode():
    """True under gunicorn (and anywhere ``PROMETHEUS_MULTIPROC_DIR`` is set)."""
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ


def route(req):
    """The ``route`` label: the matched URL rule's template, or one fixed value for unmatched paths."""
    rule = req.url_rule
    return rule.rule if rule is not None else UNMATCHED


def order_placed(order):
    """Count a committed order: its value and the units sold per category."""
    ORDERS_CREATED.inc()
    ORDER_VALUE.observe(float(order["total"]))
    for item in order["items"]:
        ITEMS_SOLD.labels(item.get("category") or "unknown").inc(item["quantity"])


def problem_answered(status, slug):
    """Count an error answer (called by the error handler)."""
    PROBLEMS.labels(route(request), str(status), slug or "about:blank").inc()


class _Registries:
    """Collects several registries as one (single-process mode)."""

    def __init__(self, *registries):
        self.registries = registries

    def collect(self):
        for registry in self.registries:
            yield from registry.collect()


class _ScrapeTime:
    """Figures read when Prometheus scrapes: build info and whatever collectors add."""

    def __init__(self, app, collectors):
        self.app = app
        self.collectors = collectors

    def collect(self):
        config = self.app.config
        build = GaugeMetricFamily("store_build_info", "The running build (always 1).",
                                  labels=("version", "commit", "environment", "python"))
        build.add_metric((config["VERSION"], config["COMMIT"], config["APP_ENV"], platform.python_version()), 1)
        yield build
        yield from resources.collect()
        with self.app.app_context():
            for collector in self.collectors:
                yield from collector()


# (method, route) -> its gauge child (labels() takes a lock and checks the names each time), up to a bound.
_IN_PROGRESS_BY_ROUTE, _IN_PROGRESS_MEMO_SIZE = {}, 512


def _track_in_progress():
    """before_request: count the request in progress; an unknown method reads as ``_OTHER`` from here on.

    ``_OTHER`` is every request metric's label for it (the exporter reads the method
    after the response). Routing has already answered such a request (404 or 405);
    the log context and gunicorn's access line keep the method as sent.
    """
    req = request._get_current_object()  # noqa: SLF001 - werkzeug's documented way to skip the proxy
    if req.method not in HTTP_METHODS:
        req.method = OTHER_METHOD
    labels = (req.method, route(req))
    gauge = _IN_PROGRESS_BY_ROUTE.get(labels)
    if gauge is None:
        gauge = IN_PROGRESS.labels(*labels)
        if len(_IN_PROGRESS_BY_ROUTE) < _IN_PROGRESS_MEMO_SIZE:
            _IN_PROGRESS_BY_ROUTE[labels] = gauge
    req.environ["store.in_progress"] = gauge
    gauge.inc()


def _untrack_in_progress(_exc):
    gauge = request.environ.pop("store.in_progress", None)
    if gauge is not None:
        gauge.dec()


def _check_token(app):
    token = app.config["METRICS_TOKEN"]
    if not token:
        return
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), token.encode()):
        raise AuthenticationRequired("Scraping /metrics needs 'Authorization: Bearer <METRICS_TOKEN>'.")


def before_scrape(app, func):
    """Run ``func(app)`` before each scrape (e.g. to refresh this worker's gauges)."""
    app.extensions["metrics_before_scrape"].append(func)


def add_collector(app, collector):
    """Add ``collector()`` (yielding metric families) to what each scrape reads; runs in an app context."""
    app.extensions["metrics_collectors"].append(collector)


def init_app(app):
    """Request metrics per route, in-progress requests, and the ``/metrics`` endpoint."""
    own = CollectorRegistry()  # per app: the exporter's metrics are created once per app
    exporter = PrometheusMetrics(app=None, path=None, registry=own, group_by=route, buckets=LATENCY_BUCKETS,
                                 excluded_paths=["^/metrics$"])
    exporter.init_app(app)
    app.before_request(_track_in_progress)
    app.teardown_request(_untrack_in_progress)

    app.extensions["metrics_collectors"] = []
    app.extensions["metrics_before_scrape"] = []
    exposition = CollectorRegistry()
    if multiprocess_mode():
        multiprocess.MultiProcessCollector(exposition)
    else:
        # Our resource collector replaces prometheus_client's (same names, with pid and role).
        if PROCESS_COLLECTOR in REGISTRY._collector_to_names:  # noqa: SLF001 - no public "is registered"
            REGISTRY.unregister(PROCESS_COLLECTOR)
        exposition.register(_Registries(REGISTRY, own))
    exposition.register(_ScrapeTime(app, app.extensions["metrics_collectors"]))

    def metrics():
        _check_token(app)
        for func in app.extensions["metrics_before_scrape"]:
            func(app)
        encoder, content_type = choose_encoder(request.headers.get("Accept"))  # text or OpenMetrics
        return Response(encoder(exposition), content_type=content_type)

    app.add_url_rule("/metrics", "metrics", metrics)
    app.extensions["metrics"] = exporter
