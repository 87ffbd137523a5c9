"""Refuse request bodies that are not JSON before any view reads them.

Without this, a form-encoded or text body would reach the schema as "no
body" and answer with confusing missing-field errors instead of 415.
"""

from flask import request
from werkzeug.exceptions import UnsupportedMediaType

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def require_json_body():
    """Answer 415 when an API write carries a body that is not JSON."""
    if request.method not in BODY_METHODS or not request.path.startswith("/api/"):
        return
    has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding") == "chunked"
    if has_body and not request.is_json:
        raise UnsupportedMediaType("Send the request body as JSON with Content-Type: application/json.")


def init_app(app):
    """Check content types before the views run."""
    app.before_request(require_json_body)
