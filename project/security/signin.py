"""Sign-in protection: events, (account, IP) locks and the patterns failed sign-ins reveal.

``POST /auth/token`` calls ``check_allowed`` before the password is verified, then
``failed`` or ``succeeded``. Each failure is added, in one pipelined round trip, to
four sliding windows in Redis (sorted sets scored by time, trimmed to their
threshold, with TTLs), shared by every worker and instance:

- the (account, IP) pair: at ``SECURITY_LOCK_THRESHOLD`` the pair is locked (429 for
  ``SECURITY_LOCK_SECONDS``). Never the account alone, so an attacker cannot lock the
  real user out from another address;
- the account, from anywhere: brute force, ``authn_login_fail_max``;
- the distinct accounts one IP failed on: credential stuffing or password spraying,
  ``authn_credential_stuffing``;
- the IP: at ``SECURITY_BLOCK_THRESHOLD`` the IP is blocked (``project.security.blocking``).

Accounts are keyed by the HMAC of the email whether or not they exist, so locks and
answers are the same for unknown emails (no enumeration); the failure answer stays
"Wrong email or password." either way.
"""

import logging
import secrets
import time

import redis
from flask import current_app

from project.errors import SignInLocked
from project.redis_client import get_redis
from project.security import blocking
from project.security.monitoring import client_ip, email_digest, failed_open, once_per_window, security_event

# KEYS: the lock, the pair's failure window. ARGV: lock seconds. 1 when this call locked the pair.
_LOCK_SCRIPT = """
if redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[1]) then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""


def _lock_key(account, ip):
    return f"security:lock:{account}:{ip}"


def _pair_key(account, ip):
    return f"security:fail:pair:{account}:{ip}"


def _who(user, account):
    """The account as logged: the user ID when it exists; the email's HMAC always (never the email)."""
    return {"user_id": user["id"] if user else None, "email_hmac": account}


def _add_to_window(pipe, key, member, *, now, window, keep):
    """Queue a sliding-window update; the 4th queued result is the count in the window (at most ``keep``)."""
    pipe.zadd(key, {member: now})
    pipe.zremrangebyscore(key, "-inf", now - window)
    pipe.zremrangebyrank(key, 0, -keep - 1)  # only the newest ``keep`` matter for "reached the threshold"
    pipe.zcard(key)
    pipe.expire(key, window)


def check_allowed(email, user):
    """Before the password is checked: a locked (account, IP) pair gets 429 with Retry-After."""
    account, ip = email_digest(email), client_ip()
    try:
        remaining = blocking.seconds_left(get_redis().pttl(_lock_key(account, ip)))
    except redis.RedisError as error:
        failed_open("sign_in_lock", error)
        return
    if remaining > 0:
        failed(email, user, reason="locked")
        raise SignInLocked("Too many failed sign-ins for this account from this address; retry later.",
                           retry_after=remaining)


def failed(email, user, *, reason="wrong_credentials"):
    """Log ``authn_login_fail``, count it in the windows, and lock, detect or block at the thresholds."""
    account, ip = email_digest(email), client_ip()
    security_event("authn_login_fail", reason=reason, **_who(user, account))
    try:
        _count_failure(account, ip, user, pair=reason != "locked")
    except redis.RedisError as error:
        failed_open("sign_in_failures", error)


def _count_failure(account, ip, user, *, pair):
    config = current_app.config
    now, attempt = time.time(), f"{time.time_ns()}:{secrets.token_hex(4)}"
    track_ip = not blocking.allowlisted(ip)
    windows = {
        "account": (f"security:fail:account:{account}", attempt, config["SECURITY_PATTERN_WINDOW_SECONDS"],
                    config["SECURITY_BRUTE_FORCE_THRESHOLD"]),
        # One member per account: the set's size is the number of distinct accounts tried.
        "accounts_from_ip": (f"security:accounts:ip:{ip}", account, config["SECURITY_PATTERN_WINDOW_SECONDS"],
                             config["SECURITY_STUFFING_THRESHOLD"]),
    }
    if pair:
        windows["pair"] = (_pair_key(account, ip), attempt, config["SECURITY_LOCK_WINDOW_SECONDS"],
                           config["SECURITY_LOCK_THRESHOLD"])
    if track_ip:
        windows["ip"] = (blocking.failures_key(ip), attempt, config["SECURITY_BLOCK_WINDOW_SECONDS"],
                         config["SECURITY_BLOCK_THRESHOLD"])
    pipe = get_redis().pipeline(transaction=False)
    for key, member, window, keep in windows.values():
        _add_to_window(pipe, key, member, now=now, window=window, keep=keep)
    results = pipe.execute()
    counts = {name: results[index * 5 + 3] for index, name in enumerate(windows)}
    reached = {name: counts[name] >= windows[name][3] for name in windows}

    if reached.get("pair"):
        _lock(account, ip, user)
    window = config["SECURITY_PATTERN_WINDOW_SECONDS"]
    if reached["account"] and once_per_window("brute_force", account, window):
        security_event("authn_login_fail_max", failures=counts["account"], window_seconds=window,
                       **_who(user, account))
    if reached["accounts_from_ip"] and once_per_window("credential_stuffing", ip, window):
        security_event("authn_credential_stuffing", accounts=counts["accounts_from_ip"], window_seconds=window)
    if reached.get("ip"):
        blocking.block_ip(ip, reason="sign_in_failures", failures=counts["ip"],
                          window_seconds=config["SECURITY_BLOCK_WINDOW_SECONDS"])


def _lock(account, ip, user):
    seconds = current_app.config["SECURITY_LOCK_SECONDS"]
    script = get_redis().register_script(_LOCK_SCRIPT)
    if script(keys=[_lock_key(account, ip), _pair_key(account, ip)], args=[seconds]):
        security_event("authn_login_lock", lock_seconds=seconds, **_who(user, account))


def succeeded(email, user):
    """Log ``authn_login_success`` and forget this (account, IP) pair's failures."""
    account, ip = email_digest(email), client_ip()
    security_event("authn_login_success", logging.INFO, **_who(user, account))
    try:
        get_redis().delete(_pair_key(account, ip))
    except redis.RedisError as error:
        failed_open("sign_in_success", error)

