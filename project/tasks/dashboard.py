"""rq-dashboard at ``/admin/rq``, for admins only; ``/admin/login`` signs a browser in.

rq-dashboard has no authentication of its own, so every request to its
blueprint (pages, JSON, static files, and its POST actions) is checked here
first. Two credentials are accepted:

- ``Authorization: Bearer <token>`` of an admin (scripts, curl);
- a browser session: ``POST /admin/login`` with the admin's email and
  password (the form at ``GET /admin/login``) sets Flask's signed session
  cookie, HttpOnly, ``SameSite=Strict``, ``Secure`` in production, path
  ``/admin``, for ``ADMIN_SESSION_SECONDS``. It holds the user ID only; the
  role is read from the database on every request, so a demoted admin loses
  access at once. ``POST /admin/logout`` ends it. No token ever travels in a
  URL. Cross-site POSTs are refused on top of SameSite (Origin and
  Sec-Fetch-Site checks), since the dashboard's actions delete and requeue.

Anonymous callers get 401 (``WWW-Authenticate: Bearer``), signed-in
non-admins 403, both problem+json from the global handler.
"""

import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import rq_dashboard
from flask import Blueprint, Response, current_app, redirect, request, session

from project import db
from project.errors import AuthenticationRequired, PermissionDenied
from project.observability import context
from project.security import monitoring
from project.security.auth import current_user

URL_PREFIX = "/admin/rq"
SESSION_USER = "admin_user_id"
SESSION_AT = "admin_signed_in_at"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
admin_blp = Blueprint("admin", __name__, url_prefix="/admin")
LOGIN_FORM = """<!doctype html><html><head><meta charset="utf-8"><title>Admin sign-in</title></head><body>
<h1>Store admin: sign in</h1><form method="post" action="/admin/login">
<p><label>Email <input name="email" type="email" required autocomplete="username"></label></p>
<p><label>Password <input name="password" type="password" required autocomplete="current-password"></label></p>
<p><button type="submit">Sign in</button></p></form></body></html>"""


def _user(user_id):
    """The account ``user_id`` as the auth module shapes it, or None."""
    return db.fetch_one("SELECT id, email, role, tier FROM users WHERE id = %s", (user_id,))


def session_user():
    """The user of a live admin session cookie (re-read from the database), or None."""
    user_id, signed_in_at = session.get(SESSION_USER), session.get(SESSION_AT, 0)
    if not user_id or time.time() - signed_in_at > current_app.config["ADMIN_SESSION_SECONDS"]:
        return None
    user = _user(user_id)
    if user is not None:
        context.update(user_id=user["id"])
    return user


def _same_origin():
    """False for a request a browser says came from another site."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    expected = urlsplit(request.host_url)
    given = urlsplit(origin)
    return (given.scheme, given.netloc) == (expected.scheme, expected.netloc)


def require_admin():
    """before_request: every rq-dashboard request needs an admin (bearer token or session)."""
    if request.blueprint != "rq_dashboard":
        return
    user = current_user()  # a bad bearer token is a 401 here, never a fall-back to the cookie
    if user is None and "Authorization" not in request.headers:
        user = session_user()
        if user is not None and request.method in UNSAFE_METHODS and not _same_origin():
            raise PermissionDenied("Dashboard actions must come from the dashboard's own pages.")
    if user is None:
        raise AuthenticationRequired("Sign in as an admin: send 'Authorization: Bearer <token>', or sign in "
                                     "at /admin/login in a browser.", error="invalid_request")
    if not monitoring.authorize(user, user["role"] == "admin", resource=URL_PREFIX, rule="admin_role"):
        raise PermissionDenied("The job dashboard needs the admin role.")


@admin_blp.get("/login")
def login_form():
    """The sign-in form (no credentials in the URL, ever)."""
    return Response(LOGIN_FORM, mimetype="text/html", headers={"Cache-Control": "no-store"})


@admin_blp.post("/login")
def login():
    """Check an admin's email and password (form or JSON) and start a browser session."""
    from project.observability import metrics
    from project.security import signin
    from project.security.passwords import verify_password
    from project.store.users import repository

    body = request.get_json(silent=True) if request.is_json else request.form
    if not isinstance(body, Mapping):  # JSON that is not an object (a list, a string) holds no credentials
        body = {}
    email, password = str(body.get("email") or ""), str(body.get("password") or "")
    user = repository.get_credentials(email=email) if email else None
    signin.check_allowed(email, user)  # the same (account, IP) locks as POST /api/v1/auth/token
    if not verify_password(user and user["password_hash"], password):
        metrics.SIGNINS.labels("failure").inc()
        signin.failed(email, user)
        raise AuthenticationRequired("Wrong email or password.", error="invalid_grant")
    metrics.SIGNINS.labels("success").inc()
    signin.succeeded(email, user)
    account = _user(user["id"])
    context.update(user_id=account["id"])
    session.clear()
    if not monitoring.authorize(account, account["role"] == "admin", resource="/admin/login", rule="admin_role"):
        raise PermissionDenied("Only admins may sign in to the admin pages.")
    session.update({SESSION_USER: account["id"], SESSION_AT: int(time.time())})
    session.permanent = True
    return redirect(f"{URL_PREFIX}/", code=303)


@admin_blp.post("/logout")
def logout():
    """End the browser session."""
    session.clear()
    return Response(status=204)


def init_app(app):
    """Mount rq-dashboard on ``REDIS_URL`` behind the admin check; serve the admin sign-in."""
    config = app.config
    config["RQ_DASHBOARD_REDIS_URL"] = config["REDIS_URL"]
    config.update(SESSION_COOKIE_NAME="store_admin", SESSION_COOKIE_PATH="/admin", SESSION_COOKIE_HTTPONLY=True,
                  SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_SECURE=config["APP_ENV"] == "production",
                  PERMANENT_SESSION_LIFETIME=config["ADMIN_SESSION_SECONDS"])
    app.before_request(require_admin)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=URL_PREFIX)
    rq_dashboard.web.setup_rq_connection(app)  # without it every dashboard page answers 500
    app.register_blueprint(admin_blp)
