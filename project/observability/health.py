"""Health endpoints: ``/health``, ``/health/live``, ``/health/ready`` and ``/health/details``.

``/health`` and ``/health/live`` touch no dependency: an outage of the
database must not get healthy pods restarted. ``/health/ready`` and
``/health/details`` run the component checks (``health_checks``): the
database DOWN makes the service not ready; anything else not UP makes it
DEGRADED, still ready. While draining after SIGTERM, ready answers 503.
"""

import hmac
import os
import platform
import time
from datetime import UTC, datetime
from functools import cache
from importlib import metadata

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from project.errors import AppError
from project.observability import gunicorn_hooks, metrics
from project.observability.health_checks import (
    DOWN,
    STATUSES,
    UP,
    HealthChecks,
    collect_health,
    get_health,
    is_draining,
    overall,
)
from project.observability.health_components import register_core_checks

DEPENDENCIES = ("flask", "gunicorn", "psycopg", "psycopg-pool", "redis", "rq", "flask-smorest", "flask-limiter",
                "flask-caching", "prometheus-flask-exporter", "prometheus-client", "python-json-logger")
PROCESS_STARTED = time.time()

blp = Blueprint("health", __name__, url_prefix="/health",
                description="Probes for load balancers and orchestrators, and component status for operators.")


@cache
def dependency_versions():
    """Installed versions of the key libraries."""
    versions = {}
    for name in DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def started_at():
    """When this instance started: the gunicorn master's start, else this process's."""
    return float(os.environ.get(gunicorn_hooks.STARTED_AT_ENV) or PROCESS_STARTED)


def details(components):
    """The whole picture, for operators."""
    config = current_app.config
    start = started_at()
    return {
        "status": overall(components),
        "ready": overall(components) != DOWN and not is_draining(),
        "draining": is_draining(),
        "components": components,
        "service": config["SERVICE_NAME"],
        "version": config["VERSION"],
        "commit": config["COMMIT"],
        "environment": config["APP_ENV"],
        "started_at": datetime.fromtimestamp(start, UTC).isoformat(),
        "uptime_seconds": round(time.time() - start, 3),
        "python": platform.python_version(),
        "dependencies": dependency_versions(),
        "checked_at": get_health().checked_at.isoformat(),  # results are reused for HEALTH_CACHE_SECONDS
    }


def is_operator(components):
    """An operator credential: ``Bearer <HEALTH_TOKEN>``, or an admin's token (while the database is up)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return False
    expected = current_app.config["HEALTH_TOKEN"]
    if expected and hmac.compare_digest(token.encode(), str(expected).encode()):
        return True
    if components.get("database", {}).get("status") != UP:
        return False  # checking the token would wait on the database; HEALTH_TOKEN works during outages
    from project.security.auth import current_user

    try:
        user = current_user()
    except AppError:
        return False
    return user is not None and user["role"] == "admin"


# --- endpoints -----------------------------------------------------------------------------------------------


class StatusSchema(Schema):
    """The status alone."""

    status = fields.String(required=True, metadata={"enum": list(STATUSES), "example": UP})


class DetailsSchema(StatusSchema):
    """Every component, and the build; only for operators (others get the status alone)."""

    ready = fields.Boolean(metadata={"example": True})
    draining = fields.Boolean(metadata={"example": False})
    components = fields.Dict(keys=fields.String(), values=fields.Dict(), metadata={"example": {
        "database": {"status": UP, "critical": True, "latency_ms": 1.8,
                     "details": {"pool": {"size": 2, "available": 1}, "migrations": {"current": True}}},
        "redis": {"status": UP, "critical": False, "latency_ms": 0.4, "details": {"ping_ms": 0.3}}}})
    service = fields.String(metadata={"example": "store-api"})
    version = fields.String(metadata={"example": "0.1.0"})
    commit = fields.String(metadata={"example": "3f2c1e9"})
    environment = fields.String(metadata={"example": "production"})
    started_at = fields.String(metadata={"example": "2026-12-03T09:00:00+00:00"})
    uptime_seconds = fields.Float(metadata={"example": 3600.5})
    python = fields.String(metadata={"example": "3.11.7"})
    dependencies = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True),
                               metadata={"example": {"flask": "3.1.3", "psycopg": "3.3.9", "redis": "7.4.1"}})
    checked_at = fields.String(metadata={"example": "2026-12-03T10:00:00+00:00"})


def not_ready(status, draining):
    """503 problem+json for a probe: the service is DOWN or draining."""
    from project.observability.errors import problem

    reason = "draining before shutdown" if draining else "a critical component is DOWN"
    return problem(503, f"Not ready: {reason}.", slug="service-unavailable", headers={"Retry-After": "5"},
                   extra={"health": {"status": status, "draining": draining}}, expected=True)


@blp.route("")
class Health(MethodView):
    """Basic health."""

    @blp.response(200, StatusSchema)
    @blp.doc(security=[])
    def get(self):
        """The process answers HTTP.

        Touches no dependency, so a database outage never gets a healthy pod restarted.
        Never rate limited and never IP-blocked.
        """
        return {"status": UP}


@blp.route("/live")
class Live(MethodView):
    """Liveness."""

    @blp.response(200, StatusSchema)
    @blp.doc(security=[])
    def get(self):
        """Liveness probe: the process can serve.

        Never checks external systems, and stays UP while the process drains after SIGTERM.
        Never rate limited and never IP-blocked.
        """
        return {"status": UP}


@blp.route("/ready")
class Ready(MethodView):
    """Readiness."""

    @blp.response(200, StatusSchema)
    @blp.alt_response(503, description="A critical component is DOWN, or the process is draining after SIGTERM.")
    @blp.doc(security=[])
    def get(self):
        """Readiness probe: 200 while the database is up (UP or DEGRADED); 503 when DOWN or draining.

        The component checks run in parallel under `HEALTH_TIMEOUT` and are reused for
        `HEALTH_CACHE_SECONDS`. The 503 is problem+json with `Retry-After` and a `health` member
        (`status`, `draining`). Never rate limited and never IP-blocked.
        """
        status = overall(get_health().components())
        draining = is_draining()
        if status == DOWN or draining:
            return not_ready(status, draining)
        return {"status": status}


@blp.route("/details")
class Details(MethodView):
    """Component status for operators."""

    @blp.response(200, DetailsSchema)
    @blp.doc(security=[{"bearerAuth": []}, {}])
    def get(self):
        """Every component with status, latency and details, and the build, for an admin token or HEALTH_TOKEN.

        Anyone else gets the overall status alone. Answers 200 whatever the status:
        ``/health/ready`` is the probe.
        """
        components = get_health().components()
        if is_operator(components):
            return details(components)
        return {"status": overall(components)}


def init_app(app):
    """Serve the endpoints at the root, outside ``/api/v1``; export component status as metrics."""
    from project.extensions import api

    register_core_checks(app)
    app.extensions["health"] = HealthChecks(app)
    metrics.add_collector(app, collect_health)
    api.register_blueprint(blp)
