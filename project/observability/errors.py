"""The one error handler: every failure becomes RFC 9457 ``application/problem+json``.

Each answer carries ``request_id`` and a short ``reference_id``; each error
is logged exactly once with that reference (5xx with the stack trace), so a
reference read out on a support call finds one log line. Client mistakes
keep their 4xx status; an unexpected exception is a 500 that says nothing
internal; PostgreSQL or Redis unreachable is a 503 with ``Retry-After``.
"""

import secrets

import psycopg
import redis
from flask import jsonify, request
from psycopg_pool import PoolTimeout
from werkzeug.exceptions import HTTPException

from project.errors import AppError, ServiceUnavailable, ValidationFailed
from project.observability import metrics
from project.observability.correlation import get_request_id
from project.observability.logging import get_logger
from project.observability.problems import PROBLEMS, SLUG_BY_STATUS

log = get_logger(__name__)
PROBLEM_JSON = "application/problem+json"
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread


def new_reference_id():
    """A short, unique-enough, readable reference such as ``7K3M-9QX2-4T``."""
    raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def problem(status, detail, *, slug=None, title=None, errors=None, headers=None, exc_info=None, extra=None,
            expected=False):
    """Log the error once, then answer problem+json with request and reference IDs.

    ``extra`` adds extension members (RFC 9457 section 3.2); ``expected`` logs a 5xx
    that is part of normal operation (a readiness probe saying "not ready") as a warning.
    """
    slug = slug or SLUG_BY_STATUS.get(status)
    reference_id = new_reference_id()
    metrics.problem_answered(status, slug)
    if expected:
        log.warning("request_rejected", status=status, problem=slug, reference_id=reference_id)
    elif status >= 500:
        log.error("request_failed", status=status, problem=slug, reference_id=reference_id, exc_info=exc_info)
    else:
        log.info("request_rejected", status=status, problem=slug, reference_id=reference_id)
    body = {
        "type": f"/problems/{slug}" if slug else "about:blank",
        "title": title or (PROBLEMS[slug][1] if slug else "Error"),
        "status": status,
        "detail": detail,
        "instance": request.path,
        "request_id": get_request_id(),
        "reference_id": reference_id,
    }
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    response.headers.extend(headers or {})
    return response


def field_errors(messages, pointer="", location=None):
    """marshmallow/webargs messages as a list of ``{"field": JSON pointer, "message", "in"}``."""
    if isinstance(messages, dict):
        found = []
        for key, value in messages.items():
            escaped = str(key).replace("~", "~0").replace("/", "~1")
            child = pointer if key == "_schema" else f"{pointer}/{escaped}"
            found.extend(field_errors(value, child, location))
        return found
    if isinstance(messages, list | tuple) and not all(isinstance(m, str) for m in messages):
        return [error for item in messages for error in field_errors(item, pointer, location)]
    items = messages if isinstance(messages, list | tuple) else [messages]
    return [{"field": pointer or "/", "message": str(message), "in": location} for message in items]


def handle_app_error(error):
    """A domain error raised by our own code (``expected`` ones, like an open circuit, log as warnings)."""
    return problem(error.status, error.detail, slug=error.slug, errors=error.errors, headers=error.headers,
                   expected=getattr(error, "expected", False))


def handle_http_exception(error):
    """Werkzeug's and flask-smorest's HTTP errors: 400, 404, 405, 413, 415, webargs' 422, 429."""
    messages = (getattr(error, "data", None) or {}).get("messages") or {}
    errors = [e for location, fields in messages.items() for e in field_errors(fields, "", location)]
    detail = error.description
    if error.code == 422:
        detail = "The request has invalid fields; see errors."
    elif error.code == 400 and errors:
        detail = "; ".join(e["message"] for e in errors)
        errors = None
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return problem(error.code, detail, title=None if error.code in SLUG_BY_STATUS else error.name,
                   errors=errors, headers=headers)


def handle_dependency_down(error):
    """PostgreSQL or Redis unreachable: a retryable 503 (logged with the trace, no connection string)."""
    unavailable = ServiceUnavailable("A service this request depends on is unavailable; retry later.")
    return problem(503, unavailable.detail, headers=unavailable.headers, exc_info=error)


def handle_data_error(error):
    """A value PostgreSQL refused (out of range, bad encoding) that validation let through.

    Schemas are meant to catch these first; this net keeps a client's bad
    value a 4xx, and the log line shows which check is missing.
    """
    log.warning("database_refused_value", error_type=type(error).__name__)
    return handle_app_error(ValidationFailed("A value in the request cannot be stored."))


def handle_unexpected(error):
    """Anything else is our bug: logged once with its stack trace, answered without internals."""
    return problem(500, "An unexpected error occurred. Quote the reference_id if you contact us.", exc_info=error)


def init_app(app):
    """Register the handlers; later registrations replace flask-smorest's own."""
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    for error in (psycopg.OperationalError, PoolTimeout, redis.ConnectionError, redis.TimeoutError):
        app.register_error_handler(error, handle_dependency_down)
    app.register_error_handler(psycopg.DataError, handle_data_error)
    app.register_error_handler(Exception, handle_unexpected)
