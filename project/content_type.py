"""Refuse request bodies that are not JSON, or too large, before any view reads them.

Without this, a form-encoded or text body would reach the schema as "no
body" and answer with confusing missing-field errors instead of 415; and a
chunked body (no ``Content-Length`` for Werkzeug to check) past
``MAX_CONTENT_LENGTH`` would be cut at the limit without a word, then read as
invalid JSON: a 400 where the client needs 413.
"""

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def require_json_body():
    """Answer 415 when an API write carries a body that is not JSON, 413 when a chunked one is too large."""
    if request.method not in BODY_METHODS or not request.path.startswith("/api/"):
        return
    chunked = request.headers.get("Transfer-Encoding", "").lower() == "chunked"
    has_body = bool(request.content_length) or chunked
    if has_body and not request.is_json:
        raise UnsupportedMediaType("Send the request body as JSON with Content-Type: application/json.")
    if chunked:
        refuse_oversized_stream()


def refuse_oversized_stream():
    """Read a chunked body now (kept for the view); 413 if the client sent more than ``MAX_CONTENT_LENGTH``.

    Werkzeug's stream stops at the limit and returns what it has; one more byte from
    the server's own stream tells a body of exactly the limit from a longer one.
    """
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit is None:
        return
    if len(request.get_data(cache=True)) >= limit and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()


def init_app(app):
    """Check content types and chunked sizes before the views run."""
    app.before_request(require_json_body)
