"""The spec's front matter: info (with a Markdown guide), servers and tags."""

DESCRIPTION = """\
A small online store: a product catalogue anyone can browse, accounts, orders that never oversell,
and sales reports computed in the background. All resources are under `/api/v1`; bodies are JSON.

## Authentication
Create an account with `POST /api/v1/auth/register`, then exchange its email and password for a
bearer token with `POST /api/v1/auth/token` (`{"access_token", "token_type": "Bearer", "expires_in"}`).
Send it as `Authorization: Bearer <token>`; `DELETE /api/v1/auth/token` revokes it.

- A missing token on a protected operation is **401** with `WWW-Authenticate: Bearer`.
- A token that is malformed, unknown, revoked or expired is **401** on *any* `/api` operation, public
  ones included: a client learns at once that its token is bad.
- Operations marked *admin* (`x-required-role: admin`) answer **403** to other signed-in users.
- Public operations say `security: []`.

## Rate limits
Every `/api`, `/problems` and `/admin` request counts against its caller's tier (signed-in callers
by account, anonymous ones by IP): `anonymous` 60/minute, `free` 300/minute, `premium` 1200/minute,
`admin` 3000/minute by default. Some operations add their own policy: sign-in (per IP and per
account), registration (per IP and per account), placing orders and requesting reports.
Limited answers carry the IETF draft headers, one entry per policy that applied, and the older
`X-RateLimit-*` headers for the tightest one:

```
RateLimit-Policy: "free";q=300;w=60, "orders";q=30;w=60
RateLimit: "free";r=287;t=41, "orders";r=29;t=59
X-RateLimit-Limit: 300
X-RateLimit-Remaining: 287
X-RateLimit-Reset: 1796358343
```

Past a limit the answer is **429** `quota-exceeded` with `Retry-After` (seconds). Health probes,
`/metrics`, `/openapi.json` and `/docs` are never limited. Repeated failed sign-ins from one address
block it for a while: **403** `ip-blocked` with `Retry-After`, on every operation but the probes.

## Errors
Every error is `application/problem+json` (RFC 9457) with `type`, `title`, `status`, `detail`,
`instance`, `request_id` (the `X-Request-ID`), `reference_id` (unique to the error and found in our
logs: quote it to support) and, for validation failures, `errors` (a JSON pointer, a message and
`in`: `json` or `query` for each field). `GET /problems` lists every `type` and what to do about it.
Client mistakes are 4xx and change nothing; **503** (with `Retry-After`) means a dependency is down,
retry later.

## Correlation
Send `X-Request-ID` (1-128 of `A-Za-z0-9-_.:`) to name a request; a missing or invalid one is
replaced. W3C `traceparent` continues your trace. Every answer carries both, and error bodies repeat
the request ID, so one ID finds the request, its background job and its log lines.

## Caching
Product reads carry a strong `ETag` and `Cache-Control: public, max-age=...`; send the ETag back in
`If-None-Match` to get **304 Not Modified** without a body.
"""

# One entry per blueprint (and per group of app-level routes): what a reader of /docs sees first.
TAGS = {
    "auth": "Accounts and bearer tokens: register, sign in for a token, sign out.",
    "products": "The product catalogue: public reads (cached, with ETags), admin writes.",
    "orders": "Placing orders (stock checked and taken in one transaction) and reading your own.",
    "reports": "Sales reports, computed by a background job (admin).",
    "jobs": "The status and result of a background job, for whoever enqueued it or an admin.",
    "health": "Probes for load balancers and orchestrators, and component status for operators.",
    "problems": "What each error `type` means and what to do about it.",
    "metrics": "Prometheus metrics of every gunicorn worker, aggregated.",
    "admin": "Browser sign-in for the admin pages, and the rq-dashboard job console (admin).",
    "docs": "This description (`/openapi.json`) and its Swagger UI (`/docs`).",
}


def info(config):
    """The ``info`` object: title, the app's version, the guide, contact and licence."""
    return {
        "title": config["API_TITLE"],
        "version": str(config["API_VERSION"]),
        "summary": "A small online store's API: catalogue, accounts, orders, background reports.",
        "description": DESCRIPTION,
        "contact": {"name": config["API_CONTACT_NAME"], "email": config["API_CONTACT_EMAIL"]},
        "license": {"name": config["API_LICENSE"]},
    }


def tags(used):
    """Every tag an operation uses, described, in the order above."""
    order = list(TAGS) + sorted(set(used) - set(TAGS))
    return [{"name": name, "description": TAGS.get(name, "")} for name in order if name in used]


SERVERS = [{"url": "/", "description": "This server (paths are absolute: /api/v1/...)."}]
