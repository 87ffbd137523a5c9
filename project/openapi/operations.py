"""Every operation's security, error answers and headers, derived from the app itself.

Views say what they do (docstring, schemas, the odd ``alt_response``); what
the layers around them add is the same for every view, so it is added here,
in one place, from facts the app knows: who may call it (the ``login_required``
/ ``admin_required`` mark on the view), whether it takes a body or path
arguments, and whether rate limits and IP blocks apply to its path. An
operation thus documents every error it can give, with the matching problem
types, and the ``X-Request-ID``, ``traceparent`` and rate-limit headers.
"""

import copy
import re

from project.observability.problems import SLUG_BY_STATUS
from project.openapi.problems import HEADERS, RATE_LIMIT_HEADERS, ref, response
from project.protection.policies import EXEMPT_PATH
from project.security.monitoring import exempt as block_exempt

BODY_METHODS = ("post", "put", "patch")
SIGN_IN = {("/api/v1/auth/token", "post"), ("/admin/login", "post")}
# Which 409 an operation gives; anything else with a 409 is a plain conflict (a duplicate).
CONFLICTS = {("/api/v1/orders", "post"): "insufficient-stock"}
REASONS = {
    "bad-request": "The body is not well-formed JSON.",
    "authentication-required": "No valid bearer token: missing, malformed, unknown, revoked or expired.",
    "forbidden": "Signed in, but this operation needs the admin role.",
    "ip-blocked": "This client address is blocked after repeated failed sign-ins (see `Retry-After`).",
    "not-found": "No such resource (or it is not yours to see), or a path argument that is not one.",
    "conflict": "The request conflicts with the current state (e.g. a duplicate).",
    "insufficient-stock": "Not enough stock for some line; nothing was taken.",
    "invalid-idempotency-key": "The `Idempotency-Key` header is not 1-255 printable ASCII characters.",
    "idempotency-key-in-flight": "The first request with this `Idempotency-Key` is still running; retry after "
                                 "`Retry-After` seconds for its answer.",
    "idempotency-key-mismatch": "This `Idempotency-Key` was used with a different body.",
    "payload-too-large": "The body is over `MAX_CONTENT_LENGTH` bytes.",
    "unsupported-media-type": "A body that is not `Content-Type: application/json`.",
    "validation-error": "Some fields are invalid: wrong type, unknown, missing or out of range; see `errors`.",
    "quota-exceeded": "A rate limit was exceeded; retry after `Retry-After` seconds.",
    "sign-in-locked": "Too many failed sign-ins for this account from this address; retry after `Retry-After`.",
    "service-unavailable": "A dependency (PostgreSQL, Redis) is unavailable; retry after `Retry-After` seconds.",
    "internal-error": "An unexpected error (our fault); quote the `reference_id`.",
}
PUBLIC_401 = "A presented token is malformed, unknown, revoked or expired (public operations too)."


def openapi_path(rule):
    """``/orders/<id:order_id>`` as ``/orders/{order_id}``."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule)


def view_role(app, path, method):
    """``admin``, ``signed-in`` or None: the mark ``admin_required``/``login_required`` left on the view."""
    for rule in app.url_map.iter_rules():
        if openapi_path(rule.rule) == path and method.upper() in rule.methods:
            func = app.view_functions[rule.endpoint]
            func = getattr(getattr(func, "view_class", None), method, func)
            while func is not None:
                if getattr(func, "required_role", None):
                    return func.required_role
                func = getattr(func, "__wrapped__", None)
    return None


def access(app, path, method, operation):
    """Who may call the operation: ``admin``, ``signed-in`` or ``public`` (the view's mark, else its doc)."""
    role = view_role(app, path, method) or operation.get("x-required-role")
    if role:
        return "admin" if role == "admin" else "signed-in"
    security = operation.get("security")
    return "signed-in" if security and {} not in security else "public"


def error_slugs(path, method, operation, who, declared):
    """``{status: [problem slugs]}`` of every error the operation can give."""
    params = operation.get("parameters", [])
    # A status the view declared gives its usual problem type (an order's 409 is short stock).
    errors = {int(status): [CONFLICTS.get((path, method), "conflict") if int(status) == 409
                            else SLUG_BY_STATUS[int(status)]] for status in declared}
    add = lambda status, slug: errors.setdefault(status, []).append(slug)  # noqa: E731
    if method in BODY_METHODS and "requestBody" in operation:
        add(413, "payload-too-large")  # MAX_CONTENT_LENGTH holds everywhere; the rest only where schemas read JSON
        if path.startswith("/api/"):
            for status, slug in ((400, "bad-request"), (415, "unsupported-media-type"), (422, "validation-error")):
                add(status, slug)
    if any(p.get("in") == "query" for p in params):
        add(422, "validation-error")
    if any(p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p in params):
        for status, slug in ((400, "invalid-idempotency-key"), (409, "idempotency-key-in-flight"),
                             (422, "idempotency-key-mismatch")):
            add(status, slug)
    if "{" in path:
        add(404, "not-found")
    if who != "public" or path.startswith("/api/") or 401 in errors:
        add(401, "authentication-required")
    if who == "admin":
        add(403, "forbidden")
    if not block_exempt(path):
        add(403, "ip-blocked")
    limited = EXEMPT_PATH.fullmatch(path) is None
    if limited:
        add(429, "quota-exceeded")
    if (path, method) in SIGN_IN:
        add(429, "sign-in-locked")
    if limited or path.startswith("/api/") or 503 in errors:
        add(503, "service-unavailable")
    return {status: list(dict.fromkeys(slugs)) for status, slugs in errors.items()}, limited


def _headers(names, *, optional=()):
    """Header refs; names in ``optional`` get a not-required copy instead."""
    return {name: {**copy.deepcopy(HEADERS[name]), "required": False} if name in optional else ref("headers", name)
            for name in names}


def error_headers(status, slugs, common):
    """The headers of an error answer: the common ones, the challenge on 401, ``Retry-After`` where set."""
    if status == 401:
        return _headers([*common, "WWW-Authenticate"])
    if status in (429, 503):
        return _headers([*common, "Retry-After"])
    if "ip-blocked" in slugs:
        return _headers([*common, "Retry-After"], optional=("Retry-After",))  # a plain 403 has none
    if "idempotency-key-in-flight" in slugs:
        return _headers([*common, "Retry-After"], optional=("Retry-After",))  # only that 409 has it
    return _headers(common)


def describe(operation, who):
    """Say who may call it, in words and as ``security`` / ``x-required-role``."""
    if who == "public":
        operation.setdefault("security", [])
        return
    operation.setdefault("security", [{"bearerAuth": []}])
    note = "**Admin only** (`x-required-role: admin`)." if who == "admin" else "**Signed in** (bearer token)."
    if who == "admin":
        operation["x-required-role"] = "admin"
    operation["description"] = f"{operation.get('description', '').rstrip()}\n\n{note}".strip()


def document(app, path, method, operation):
    """Complete one operation in place: security, every error answer, every header."""
    who = access(app, path, method, operation)
    describe(operation, who)
    responses = operation["responses"]
    declared = {s: r.get("description") for s, r in responses.items() if s.isdigit() and int(s) >= 400}
    errors, limited = error_slugs(path, method, operation, who, declared)
    common = ["X-Request-ID", "traceparent"] + (list(RATE_LIMIT_HEADERS) if limited else [])
    for status, slugs in sorted(errors.items()):
        given = declared.get(str(status))  # the view's own words stand for the first (its declared) type
        reasons = [given] if given else []
        reasons += [PUBLIC_401 if slug == "authentication-required" and who == "public" else REASONS[slug]
                    for slug in (slugs[1:] if given else slugs) if slug in REASONS]
        responses[str(status)] = response(" ".join(reasons), slugs)
        responses[str(status)]["headers"] = error_headers(status, slugs, common)
    responses["default"] = response(REASONS["internal-error"], ["internal-error"])
    responses["default"]["headers"] = _headers(["X-Request-ID", "traceparent"])
    for status, answer in responses.items():
        if status.startswith(("2", "3")):
            answer.setdefault("headers", {}).update(_headers(common))
    if "304" in responses:
        cache_headers(operation)
    operation["responses"] = dict(sorted(responses.items(), key=lambda item: (item[0] == "default", item[0])))


def cache_headers(operation):
    """A conditional GET: ``ETag``/``Cache-Control`` on 200 and 304, and the ``If-None-Match`` parameter."""
    for status in ("200", "304"):
        operation["responses"][status]["headers"].update(_headers(["ETag", "Cache-Control"]))
    operation["responses"]["304"].pop("content", None)
    operation.setdefault("parameters", []).append({
        "name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
        "description": "An `ETag` from an earlier answer: 304 (no body) while it is still current.",
        "example": '"5d41402abc4b2a76b9719d911017c592"'})
