"""Bearer tokens, the current user, and the decorators that guard views.

A token is 32 random bytes, shown to the client once; the database keeps
only its SHA-256, an expiry and a revocation time. The user is looked up
lazily, on the first ``current_user()`` call of a request, so endpoints that
never ask (``/health``) never touch the database.
"""

import functools
import hashlib
import secrets

from flask import current_app, request

from project import db
from project.errors import AuthenticationRequired, PermissionDenied
from project.observability import context
from project.security import monitoring

_ANONYMOUS = object()
_USER_KEY = "store.current_user"


def hash_token(token):
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).digest()


def issue_token(*, user_id):
    """Create a token for ``user_id``; return ``(token, expires_in seconds)``."""
    token = secrets.token_urlsafe(32)
    ttl = current_app.config["TOKEN_TTL_SECONDS"]
    db.fetch_one(
        "INSERT INTO api_tokens (user_id, token_hash, expires_at)"
        " VALUES (%s, %s, now() + make_interval(secs => %s)) RETURNING id",
        (user_id, hash_token(token), ttl),
    )
    return token, ttl


def revoke_token(token):
    """Revoke ``token`` now; later requests with it get 401."""
    db.fetch_one(
        "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = %s AND revoked_at IS NULL RETURNING id",
        (hash_token(token),),
    )


def bearer_token():
    """The token in the ``Authorization: Bearer`` header, or None when there is no header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 256:
        raise AuthenticationRequired("The Authorization header must be 'Bearer <token>'.", error="invalid_request")
    return token.strip()


def _lookup_user(token):
    row = db.fetch_one(
        "SELECT u.id, u.email, u.role, u.tier, t.revoked_at IS NOT NULL AS revoked,"
        " t.expires_at <= now() AS expired"
        " FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = %s",
        (hash_token(token),),
    )
    if row is None or row["revoked"]:
        monitoring.token_rejected("revoked" if row else "unknown", row)
        raise AuthenticationRequired("The access token is invalid or revoked.")
    if row["expired"]:
        monitoring.token_rejected("expired", row)
        raise AuthenticationRequired("The access token has expired.")
    return {key: row[key] for key in ("id", "email", "role", "tier")}


def current_user():
    """The signed-in user as a dict (id, email, role, tier), or None for anonymous callers.

    A presented but invalid, expired or revoked token raises 401 rather than
    falling back to anonymous, so a client learns its token is bad.
    """
    # Cached per request, not on ``g``: ``g`` lives as long as the app context,
    # which several requests share when one is already pushed (tests, CLI).
    user = request.environ.get(_USER_KEY, _ANONYMOUS)
    if user is _ANONYMOUS:
        token = bearer_token()
        user = _lookup_user(token) if token else None
        request.environ[_USER_KEY] = user
        if user is not None:
            context.update(user_id=user["id"])
    return user


def login_required(view):
    """Guard a view: 401 unless a valid token is presented."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            raise AuthenticationRequired("Sign in: send 'Authorization: Bearer <token>'.", error="invalid_request")
        return view(*args, **kwargs)

    wrapper.required_role = "signed-in"  # the OpenAPI description reads this (project.openapi.operations)
    return wrapper


def admin_required(view):
    """Guard a view: 401 for anonymous callers, 403 for signed-in non-admins."""

    @functools.wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not monitoring.authorize(current_user(), current_user()["role"] == "admin", resource=request.path,
                                    rule="admin_role"):
            raise PermissionDenied("This operation needs the admin role.")
        return view(*args, **kwargs)

    wrapper.required_role = "admin"
    return wrapper


def check_presented_token():
    """An API request that presents a token has it checked, even on a public endpoint.

    A client with a bad token learns it at once (401), instead of silently
    being served as anonymous.
    """
    if "Authorization" in request.headers and request.path.startswith("/api/"):
        current_user()


def init_app(app):
    """Check presented tokens early; document the bearer scheme in the OpenAPI spec."""
    from project.extensions import api

    app.before_request(check_presented_token)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
