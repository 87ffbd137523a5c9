"""The one error handler: every failure becomes a JSON problem (RFC 9457 shape).

Client mistakes keep their 4xx status and say what was wrong; an unexpected
exception is logged once with its stack trace and answered 500 without any
internals. A database or Redis outage answers 503 with ``Retry-After``.
"""

import logging

import psycopg
import redis
from flask import jsonify, request
from psycopg_pool import PoolTimeout
from werkzeug.exceptions import HTTPException

from project.errors import AppError, ServiceUnavailable, ValidationFailed

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def problem(status, title, detail, *, slug=None, errors=None, headers=None):
    """Build a problem+json response."""
    body = {
        "type": f"/problems/{slug}" if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    response.headers.extend(headers or {})
    return response


def handle_app_error(error):
    """A domain error raised by our own code."""
    return problem(error.status, error.title, error.detail, slug=error.slug,
                   errors=error.errors, headers=error.headers)


def handle_http_exception(error):
    """Werkzeug's and flask-smorest's HTTP errors (404, 405, 413, webargs' 400/422)."""
    messages = (getattr(error, "data", None) or {}).get("messages")
    errors = _field_errors(messages) if messages else None
    title, detail, slug = error.name, error.description, None
    if error.code == 422:  # webargs: the same problem type as our own ValidationFailed
        title, slug = ValidationFailed.title, ValidationFailed.slug
        detail = "The request has invalid fields; see errors."
    elif error.code == 400 and messages:
        detail = "; ".join(str(m) for m in _flatten(messages)) or detail
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return problem(error.code, title, detail, slug=slug, errors=errors, headers=headers)


def handle_dependency_down(error):
    """PostgreSQL or Redis unreachable: a retryable 503, logged without the connection string."""
    log.error("dependency unavailable: %s", type(error).__name__)
    return handle_app_error(ServiceUnavailable("A service this request depends on is unavailable; retry later."))


def handle_data_error(error):
    """A value PostgreSQL refused (out of range, bad encoding) that validation let through.

    Schemas are meant to catch these first; this net keeps a client's bad
    value a 4xx, and the warning shows which check is missing.
    """
    log.warning("database refused a value: %s", type(error).__name__)
    return handle_app_error(ValidationFailed("A value in the request cannot be stored."))


def handle_unexpected(error):
    """Anything else is our bug: log the stack trace once, tell the client nothing internal."""
    log.exception("unhandled exception")
    return problem(500, "Internal server error", "An unexpected error occurred.")


def _field_errors(messages):
    """Webargs messages are keyed by location (json, query); clients want fields."""
    merged = {}
    for location, fields in messages.items():
        merged.update(fields if isinstance(fields, dict) else {location: fields})
    return merged


def _flatten(messages):
    for value in messages.values():
        if isinstance(value, dict):
            yield from _flatten(value)
        elif isinstance(value, list):
            yield from value
        else:
            yield value


def init_app(app):
    """Register the handlers; later registrations replace flask-smorest's own."""
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    for error in (psycopg.OperationalError, PoolTimeout, redis.ConnectionError, redis.TimeoutError):
        app.register_error_handler(error, handle_dependency_down)
    app.register_error_handler(psycopg.DataError, handle_data_error)
    app.register_error_handler(Exception, handle_unexpected)
