"""The rate-limit policies: who is limited, by what key, and under which setting.

Every API request counts against its caller's *tier* policy (``anonymous``,
``free``, ``premium`` or ``admin``), shared by all routes. Some endpoints add
a policy of their own. A policy's name is its flask-limiter scope, so it is
part of the Redis key and is what the ``RateLimit`` headers and a 429 name.

Keys: a signed-in caller is limited by user ID, an anonymous one by client IP
(``request.remote_addr``: ProxyFix sets it only for ``TRUSTED_PROXY_HOPS``).
The per-account sign-in and registration policies key on a keyed hash of the
email in the body, so no address reaches Redis or a log.

Limits are read from the current app's settings on every request, so one
``Limiter`` serves every app in a process, each with its own settings.
"""

import hashlib
import hmac
import re

from flask import current_app, request
from flask_limiter import ApplicationLimit

from project.security.auth import current_user

TIER_SETTINGS = {"anonymous": "RATELIMIT_ANONYMOUS", "free": "RATELIMIT_FREE",
                 "premium": "RATELIMIT_PREMIUM", "admin": "RATELIMIT_ADMIN"}
# Probes, scrapers and the API description are never limited: an orchestrator must always reach them.
EXEMPT_PATH = re.compile(r"/health(/.*)?|/metrics|/openapi\.json|/docs(/.*)?")
_CALLER = "store.ratelimit.caller"  # per-request cache (request.environ), like the current user


def is_exempt():
    """True for requests no policy applies to (health, metrics, OpenAPI and docs)."""
    return EXEMPT_PATH.fullmatch(request.path) is not None


def client_ip():
    """The client's address: the socket peer, or ProxyFix's pick from trusted hops."""
    return request.remote_addr or "unknown"


def caller():
    """``(tier, key)`` of this request's caller; a bad token raises 401 (never falls back to anonymous)."""
    found = request.environ.get(_CALLER)
    if found is None:
        user = current_user()
        if user is None:
            found = ("anonymous", f"ip:{client_ip()}")
        else:
            tier = "admin" if user["role"] == "admin" else user["tier"]
            found = (tier if tier in TIER_SETTINGS else "free", f"user:{user['id']}")
        request.environ[_CALLER] = found
    return found


def caller_tier():
    """The caller's tier name (``anonymous`` before the caller is known), for metric labels."""
    found = request.environ.get(_CALLER)
    return found[0] if found else "anonymous"


def account_key():
    """A keyed hash of the (normalised) email in the JSON body, or None when there is none."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str) or not email.strip():
        return None
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, b"ratelimit-account:" + email.strip().lower().encode(), hashlib.sha256)
    return f"account:{digest.hexdigest()[:32]}"


def _tier_limit():
    return current_app.config[TIER_SETTINGS[caller()[0]]]


def _tier_breached():
    tier = caller()[0]
    return f'Rate limit exceeded: policy "{tier}" allows {current_app.config[TIER_SETTINGS[tier]]}.'


def _endpoint_limit(name, endpoint, method, setting, key_function, *, needs_account=False):
    """A policy for one endpoint and method; elsewhere its limit is empty, so it costs nothing."""

    def limit():
        if request.endpoint == endpoint and request.method == method:
            return current_app.config[setting]
        return ""

    def breached():
        return f'Rate limit exceeded: policy "{name}" allows {current_app.config[setting]}.'

    return ApplicationLimit(limit, key_function=key_function, scope=name, error_message=breached,
                            exempt_when=(lambda: account_key() is None) if needs_account else None)


def application_limits():
    """Every policy, tier first: headers list them in this order (among equal windows)."""
    return [
        ApplicationLimit(_tier_limit, key_function=lambda: caller()[1], scope=lambda _endpoint: caller()[0],
                         error_message=_tier_breached),
        _endpoint_limit("sign-in-ip", "auth.Token", "POST", "RATELIMIT_SIGN_IN_IP", client_ip),
        _endpoint_limit("sign-in-account", "auth.Token", "POST", "RATELIMIT_SIGN_IN_ACCOUNT", account_key,
                        needs_account=True),
        _endpoint_limit("register-ip", "auth.Register", "POST", "RATELIMIT_REGISTER_IP", client_ip),
        _endpoint_limit("register-account", "auth.Register", "POST", "RATELIMIT_REGISTER_ACCOUNT", account_key,
                        needs_account=True),
        _endpoint_limit("orders", "orders.Orders", "POST", "RATELIMIT_ORDERS", lambda: caller()[1]),
        _endpoint_limit("reports", "reports.Reports", "POST", "RATELIMIT_REPORTS", lambda: caller()[1]),
    ]
