"""The ``Problem`` schema (RFC 9457), an example of each problem type, and the headers answers carry.

Every error this API gives is ``application/problem+json`` from one handler
(``project.observability.errors``); its problem types are the catalogue in
``project.observability.problems``. The spec documents them from that same
catalogue, so a new type appears here with its example.
"""

from project.observability.problems import PROBLEMS

PROBLEM_JSON = "application/problem+json"
REFERENCE_ID = "^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2}$"

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An error (RFC 9457). `type` names the problem: `GET /problems/<slug>` explains it.",
    "required": ["type", "title", "status", "detail", "instance", "request_id", "reference_id"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference", "example": "/problems/validation-error"},
        "title": {"type": "string", "example": "Validation failed"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "example": 422},
        "detail": {"type": "string", "example": "The request has invalid fields; see errors."},
        "instance": {"type": "string", "description": "The request's path.", "example": "/api/v1/orders"},
        "request_id": {"type": "string", "description": "The request's correlation ID (also `X-Request-ID`).",
                       "example": "3f1c0e6a9d8b4c2e8f7a6b5c4d3e2f1a"},
        "reference_id": {"type": "string", "pattern": REFERENCE_ID, "example": "7K3M-9QX2-4T",
                         "description": "Unique to this error; its log line carries it. Quote it to support."},
        "errors": {
            "type": "array", "description": "Field-level failures (validation errors only).",
            "items": {"type": "object", "required": ["field", "message"], "properties": {
                "field": {"type": "string", "description": "A JSON pointer into the body or query.",
                          "example": "/items/0/quantity"},
                "message": {"type": "string", "example": "Must be greater than or equal to 1."},
                "in": {"type": ["string", "null"], "example": "json", "description": "`json` or `query`."}}},
        },
    },
    "additionalProperties": True,  # RFC 9457 extension members (e.g. `health` on a readiness 503)
}

# A realistic detail for each problem type, as the handler words it.
DETAILS = {
    "bad-request": "Failed to decode JSON object: Expecting value: line 1 column 10 (char 9)",
    "authentication-required": "Sign in: send 'Authorization: Bearer <token>'.",
    "forbidden": "This operation needs the admin role.",
    "ip-blocked": "Too many failed sign-ins came from this address; it is blocked for a while.",
    "not-found": "Product 12 does not exist.",
    "method-not-allowed": "The method is not allowed for the requested URL.",
    "conflict": "A product named 'Espresso cup' already exists.",
    "insufficient-stock": "Not enough stock: product 1 has 3 left",
    "invalid-idempotency-key": "The Idempotency-Key header must be 1-255 printable ASCII characters.",
    "idempotency-key-in-flight": "A request with this Idempotency-Key is still being processed; retry shortly.",
    "idempotency-key-mismatch": "This Idempotency-Key was already used with a different request body.",
    "payload-too-large": "The data value transmitted exceeds the capacity limit.",
    "unsupported-media-type": "Send the request body as JSON with Content-Type: application/json.",
    "validation-error": "The request has invalid fields; see errors.",
    "quota-exceeded": 'Rate limit exceeded: policy "anonymous" allows 60/minute.',
    "sign-in-locked": "Too many failed sign-ins for this account from this address; retry later.",
    "internal-error": "An unexpected error occurred. Quote the reference_id if you contact us.",
    "service-unavailable": "A service this request depends on is unavailable; retry later.",
    "dependency-unavailable": "Calls to the cache service are paused after repeated failures; retry after 12 s.",
}


def example(slug, instance="/api/v1/products"):
    """A problem+json body of type ``slug`` as the handler would answer it."""
    status, title, _ = PROBLEMS[slug]
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": DETAILS[slug],
            "instance": instance, "request_id": "3f1c0e6a9d8b4c2e8f7a6b5c4d3e2f1a", "reference_id": "7K3M-9QX2-4T"}
    if slug == "validation-error":
        body["errors"] = [{"field": "/items/0/quantity", "in": "json",
                           "message": "Must be greater than or equal to 1 and less than or equal to 1000."}]
    elif slug == "insufficient-stock":
        body["errors"] = [{"field": "/items/0/quantity", "in": "json", "message": "Only 3 left of product 1.",
                           "available": 3}]
    return body


def header(description, schema=None, *, required=False, example_value=None):
    """An OpenAPI header object."""
    found = {"description": description, "required": required, "schema": schema or {"type": "string"}}
    if example_value is not None:
        found["example"] = example_value
    return found


HEADERS = {
    "X-Request-ID": header("The request's correlation ID: the client's own when valid (1-128 of `A-Za-z0-9-_.:`), "
                           "else a new one. Error bodies repeat it as `request_id`.", required=True,
                           example_value="3f1c0e6a9d8b4c2e8f7a6b5c4d3e2f1a"),
    "traceparent": header("W3C Trace Context of this request's span (continues a valid incoming `traceparent`).",
                          required=True, example_value="00-95c05f7a709009c78499ae4775021962-8e838d33cbdc44c5-01"),
    "RateLimit-Policy": header("The rate-limit policies that applied (IETF draft structured field): quota `q` "
                               "and window `w` seconds.", example_value='"free";q=300;w=60'),
    "RateLimit": header("Each policy's state: remaining `r`, and `t` seconds until the oldest request in the "
                        "window drops out.", example_value='"free";r=287;t=41'),
    "X-RateLimit-Limit": header("Requests allowed in the window of the tightest policy.", {"type": "integer"},
                                example_value=300),
    "X-RateLimit-Remaining": header("Requests left in that window.", {"type": "integer"}, example_value=287),
    "X-RateLimit-Reset": header("When that window resets (Unix time).", {"type": "integer"},
                                example_value=1796358343),
    "Retry-After": header("Seconds to wait before retrying.", {"type": "integer", "minimum": 0}, required=True,
                          example_value=30),
    "WWW-Authenticate": header("The bearer challenge (RFC 6750), e.g. `error=\"invalid_token\"`.", required=True,
                               example_value='Bearer error="invalid_token"'),
    "ETag": header("Strong validator of the body; send it back in `If-None-Match`.", required=True,
                   example_value='"5d41402abc4b2a76b9719d911017c592"'),
    "Cache-Control": header("How long browsers and proxies may reuse the answer.", required=True,
                            example_value="public, max-age=30"),
}
RATE_LIMIT_HEADERS = ("RateLimit-Policy", "RateLimit", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                      "X-RateLimit-Reset")


def components():
    """The reusable parts: the schema, one example per problem type, and the headers."""
    return {
        "schemas": {"Problem": PROBLEM_SCHEMA},
        "examples": {slug: {"summary": PROBLEMS[slug][1], "value": example(slug)} for slug in PROBLEMS},
        "headers": HEADERS,
    }


def ref(kind, name):
    """A ``$ref`` to a component."""
    return {"$ref": f"#/components/{kind}/{name}"}


def response(description, slugs, headers=()):
    """A problem+json response: its examples (one per problem type) and headers."""
    return {
        "description": description,
        "headers": {name: ref("headers", name) for name in headers},
        "content": {PROBLEM_JSON: {"schema": ref("schemas", "Problem"),
                                   "examples": {slug: ref("examples", slug) for slug in slugs}}},
    }
