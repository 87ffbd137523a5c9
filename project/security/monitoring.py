"""Security events: one JSON log line each, named after the OWASP logging vocabulary, and counted.

Every event is a line from the ``project.security`` logger whose ``event`` field is the
OWASP name (``authn_login_fail``, ``authz_fail``, ...), with ``client_ip``,
``user_agent`` and (through the log context) ``request_id``; it is counted as
``security_events_total{event}``. An account is named by its user ID, or by a keyed
HMAC of the email when the account is unknown, so a log never holds an address that
someone merely typed; passwords and tokens never reach this module.

The scanning detector lives here too: an after_request hook counts 401, 403 and 404
answers per client IP in fixed Redis buckets (one pipelined round trip) and raises
``malicious_excess_404`` once per bucket when the count reaches the threshold.
"""

import hashlib
import hmac
import logging
import time

import redis
from flask import current_app, has_request_context, request
from prometheus_client import Counter

from project.observability.logging import get_logger
from project.redis_client import get_redis

log = get_logger("project.security")
SECURITY_EVENTS = Counter("security_events_total", "Security events by OWASP event name.", ("event",))
FAILED_OPEN = Counter("security_checks_failed_open_total",
                      "Security checks skipped (fail open) because Redis was unreachable, by check.", ("check",))
USER_AGENT_MAX = 256  # enough to recognise a client; a 10 kB header is junk, not evidence
SCAN_STATUSES = frozenset((401, 403, 404))
EXEMPT_PREFIXES = ("/health", "/metrics")  # probes and scrapers are never counted, blocked or limited
BLOCK_ANSWER = "store.ip_blocked"  # environ flag: this answer is the block itself, not the client's probing


def client_ip():
    """The client's address as the app sees it (ProxyFix, when configured, has already applied)."""
    return request.remote_addr or "unknown"


def exempt(path):
    """True for health and metrics endpoints, which security checks leave alone."""
    return path.startswith(EXEMPT_PREFIXES)


def email_digest(email):
    """A keyed HMAC-SHA256 of the normalised email (SECRET_KEY): stable, but not reversible by a log reader."""
    key = current_app.config["SECRET_KEY"].encode()
    message = b"security-email:" + str(email).strip().lower().encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def security_event(event, level=logging.WARNING, **fields):
    """Log one security event line (client IP and user agent added in a request) and count it."""
    SECURITY_EVENTS.labels(event).inc()
    fields = {key: value for key, value in fields.items() if value is not None}
    if has_request_context():
        fields.setdefault("client_ip", client_ip())
        fields.setdefault("user_agent", request.user_agent.string[:USER_AGENT_MAX] or None)
    log.log(level, event, **fields)


def failed_open(check, error):
    """A check could not reach Redis: let the request through, warn and count it (never a 500)."""
    FAILED_OPEN.labels(check).inc()
    log.warning("security_check_failed_open", check=check, error_type=type(error).__name__)


def once_per_window(pattern, subject, window):
    """True the first time ``pattern`` fires for ``subject`` in ``window`` seconds (across processes)."""
    return bool(get_redis().set(f"security:seen:{pattern}:{subject}", 1, nx=True, ex=window))


def authorize(user, allowed, *, resource, rule):
    """Record an authorization decision (denials as ``authz_fail``, grants at DEBUG); return ``allowed``."""
    if allowed:
        security_event("authz_grant", logging.DEBUG, user_id=user["id"], resource=resource, rule=rule)
    else:
        security_event("authz_fail", user_id=user["id"], resource=resource, rule=rule)
    return allowed


def token_rejected(reason, row=None):
    """A presented bearer token was refused: ``unknown``, ``revoked`` or ``expired`` (never the token)."""
    user_id = row["id"] if row is not None else None
    if reason == "expired":
        security_event("authn_token_expired", logging.INFO, user_id=user_id)
    else:
        security_event("authn_token_invalid", user_id=user_id, reason=reason)


def count_scanning(response):
    """after_request: count this IP's 401/403/404 answers; raise ``malicious_excess_404`` at the threshold."""
    if response.status_code not in SCAN_STATUSES or request.environ.get(BLOCK_ANSWER) or exempt(request.path):
        return response
    config = current_app.config
    window, threshold = config["SECURITY_SCAN_WINDOW_SECONDS"], config["SECURITY_SCAN_THRESHOLD"]
    ip = client_ip()
    key = f"security:scan:{ip}:{int(time.time() // window)}"
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, window)
        count, _ = pipe.execute()
    except redis.RedisError as error:
        failed_open("scanning", error)
        return response
    # Exactly equal: the bucket's counter passes the threshold once, so the event fires once per window.
    if count == threshold:
        security_event("malicious_excess_404", answers=count, window_seconds=window, last_status=response.status_code,
                       last_path=request.path[:200])
    return response


def init_app(app):
    """Count error answers per client IP for the scanning detector."""
    app.after_request(count_scanning)
