"""Rate limiting: flask-limiter on Redis (a moving window), shared by every worker and instance.

A request's path: correlation, IP block check, authentication, then this
check (before_request), then the view. For an API read without a token the
check is made at the IP block check instead, in the same Redis round trip as
the block and the cache lookup (``roundtrip.py``); its outcome (a 429, or a
503 when failing closed) is still given at this point of the path. The policies (tiers and endpoints)
are in ``policies.py``; the limiter itself in ``limiter.py``.

Every limited response carries the IETF httpapi draft's structured fields
(draft-ietf-httpapi-ratelimit-headers-09/10), one entry per policy that applied::

    RateLimit-Policy: "free";q=300;w=60, "orders";q=10;w=60
    RateLimit: "free";r=299;t=59, "orders";r=9;t=59

plus ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` for the tightest policy
(flask-limiter's ``current_limit``, with flask-limiter's own values) for older
clients. A rejection is a 429 problem+json (``/problems/quota-exceeded``) naming
the policy, with ``Retry-After``; it is
counted as ``ratelimit_rejections_total{route,tier}``.
"""

import math
import time

from redis.backoff import NoBackoff
from redis.retry import Retry
from werkzeug.middleware.proxy_fix import ProxyFix


def structured_fields(applied, now=None):
    """``(RateLimit-Policy, RateLimit)`` values for the limits that applied, as structured-field lists."""
    now = time.time() if now is None else now
    policy, state = [], []
    for limit in applied:
        name = limit.request_args[-1]  # the flask-limiter scope is the policy's name
        reset_at, remaining = limit.window
        policy.append(f'"{name}";q={limit.limit.amount};w={limit.limit.get_expiry()}')
        state.append(f'"{name}";r={max(0, remaining)};t={max(0, math.ceil(reset_at - now))}')
    return ", ".join(policy), ", ".join(state)


def add_headers(response):
    """after_request: the IETF fields and the ``X-RateLimit-*`` ones, and Retry-After on our own 429s."""
    from project.extensions import limiter

    applied = limiter.current_limits
    if not applied:
        return response
    now = time.time()
    headers = response.headers
    headers["RateLimit-Policy"], headers["RateLimit"] = structured_fields(applied, now)
    tightest = limiter.current_limit  # as flask-limiter's own headers: the breached limit, else the shortest window
    if tightest is not None:
        reset_at, remaining = tightest.window
        headers["X-RateLimit-Limit"] = str(tightest.limit.amount)
        headers["X-RateLimit-Remaining"] = str(remaining)
        headers["X-RateLimit-Reset"] = str(int(reset_at + 1))
        if response.status_code == 429 and tightest.breached:
            headers["Retry-After"] = str(max(1, math.ceil(reset_at - now)))
    return response


def trust_proxies(app):
    """Take the client address from ``X-Forwarded-For`` only behind ``TRUSTED_PROXY_HOPS`` proxies.

    Without trusted proxies the header is ignored: anyone can send it, and a
    forged one must not buy a fresh anonymous limit (or dodge an IP block).
    """
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def init_app(app):
    """Bind the shared limiter to ``app`` on ``REDIS_URL``; call after ``auth.init_app`` (caller first)."""
    from project.extensions import limiter

    trust_proxies(app)
    timeout = app.config["RATELIMIT_REDIS_TIMEOUT"]
    app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    # Short timeouts and one immediate retry: redis-py's default backs off for seconds, on every request.
    app.config["RATELIMIT_STORAGE_OPTIONS"] = {"socket_timeout": timeout, "socket_connect_timeout": timeout,
                                               "retry": Retry(NoBackoff(), 1), "health_check_interval": 30}
    app.after_request(add_headers)
    limiter.init_app(app)
