"""IP blocks: progressive, shared in Redis, checked before authentication on every request.

Repeated failed sign-ins from one address (``project.security.signin`` counts them)
block it for ``SECURITY_BLOCK_SECONDS``; each repeat within
``SECURITY_BLOCK_HISTORY_SECONDS`` doubles the block, up to ``SECURITY_BLOCK_MAX_SECONDS``.
A block is one Redis key with a TTL (its value the repeat level), so every worker and
instance enforces it and it lifts itself. Addresses in ``SECURITY_ALLOWLIST`` are never
blocked; health and metrics endpoints are never refused. When Redis is unreachable the
check fails open with a warning: an outage of the blocklist must not become an outage
of the API. For an API read without a token the check is the first part of the
request's one Redis round trip (``project.protection.roundtrip``), with the rate
limit and the cache lookup.
"""

import ipaddress

import redis
from flask import current_app, request
from prometheus_client import Counter

from project.errors import IpBlocked
from project.protection import roundtrip
from project.redis_client import get_redis
from project.security import monitoring

IP_BLOCKS = Counter("ip_blocks_total", "Client IPs newly blocked after repeated failed sign-ins.")
BLOCK_PREFIX = "security:blocked:"
LEVEL_PREFIX = "security:block-level:"
FAILURES_PREFIX = "security:fail:ip:"

# Atomic, so two workers crossing the threshold together make one block and one level step.
# KEYS: block, level, the IP's failure window. ARGV: base seconds, max seconds, history seconds.
# Returns {created, level, seconds}.
_BLOCK_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 0, 0} end
local level = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
local seconds = tonumber(ARGV[1]) * 2 ^ (level - 1)
if seconds > tonumber(ARGV[2]) then seconds = tonumber(ARGV[2]) end
seconds = math.floor(seconds)
redis.call('SET', KEYS[1], level, 'EX', seconds)
redis.call('DEL', KEYS[3])
return {1, level, seconds}
"""


def failures_key(ip):
    """The sliding window of failed sign-ins from ``ip``."""
    return FAILURES_PREFIX + ip


def allowlisted(ip):
    """True when ``ip`` is inside one of the ``SECURITY_ALLOWLIST`` networks."""
    networks = current_app.config["SECURITY_ALLOWLIST_NETWORKS"]
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    address = getattr(address, "ipv4_mapped", None) or address  # ::ffff:10.0.0.7 is 10.0.0.7
    return any(address in network for network in networks)


def block_ip(ip, **fields):
    """Block ``ip`` (unless allow-listed or already blocked); return ``(level, seconds)`` of a new block or None."""
    if allowlisted(ip):
        return None
    config = current_app.config
    script = get_redis().register_script(_BLOCK_SCRIPT)
    created, level, seconds = script(
        keys=[BLOCK_PREFIX + ip, LEVEL_PREFIX + ip, failures_key(ip)],
        args=[config["SECURITY_BLOCK_SECONDS"], config["SECURITY_BLOCK_MAX_SECONDS"],
              config["SECURITY_BLOCK_HISTORY_SECONDS"]])
    if not created:
        return None
    IP_BLOCKS.inc()
    monitoring.security_event("ip_blocked", client_ip=ip, block_level=level, block_seconds=seconds, **fields)
    return level, seconds


def seconds_left(pttl):
    """Whole seconds (rounded up) from a ``PTTL`` answer; 0 for a missing key (-2)."""
    if pttl == -1:  # no expiry: never set by us, but an operator's hand-made block still counts
        return 1
    return max(0, -(-pttl // 1000))


def remaining_seconds(ip):
    """Seconds left on ``ip``'s block, or 0 when it is not blocked."""
    return seconds_left(get_redis().pttl(BLOCK_PREFIX + ip))


def list_blocks():
    """Every current block as ``{"ip", "remaining_seconds", "level"}``, longest remaining first."""
    client = get_redis()
    keys = list(client.scan_iter(match=BLOCK_PREFIX + "*", count=1000))
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.pttl(key)
        pipe.get(key)
    values = pipe.execute()
    blocks = [{"ip": key.decode()[len(BLOCK_PREFIX):], "remaining_seconds": seconds_left(pttl), "level": int(level)}
              for key, pttl, level in zip(keys, values[::2], values[1::2], strict=True)
              if level is not None and seconds_left(pttl)]
    return sorted(blocks, key=lambda block: (-block["remaining_seconds"], block["ip"]))


def unblock(ip):
    """Lift ``ip``'s block and forget its failures and repeat level; True when it was blocked."""
    removed = get_redis().delete(BLOCK_PREFIX + ip)
    get_redis().delete(LEVEL_PREFIX + ip, failures_key(ip))
    monitoring.security_event("ip_unblocked", client_ip=ip, was_blocked=bool(removed))
    return bool(removed)


def unblock_all():
    """Lift every block and forget every repeat level and failure window; return how many blocks there were."""
    client = get_redis()
    blocks = list(client.scan_iter(match=BLOCK_PREFIX + "*", count=1000))
    others = [key for prefix in (LEVEL_PREFIX, FAILURES_PREFIX)
              for key in client.scan_iter(match=prefix + "*", count=1000)]
    for start in range(0, len(blocks) + len(others), 500):
        client.delete(*(blocks + others)[start:start + 500])
    monitoring.security_event("ip_unblocked", client_ip="*", was_blocked=bool(blocks), blocks=len(blocks))
    return len(blocks)


def refuse_blocked_clients():
    """before_request (right after correlation): a blocked client gets 403 problem+json with Retry-After."""
    if monitoring.exempt(request.path):
        return
    ip = monitoring.client_ip()
    checked = not allowlisted(ip)
    try:
        if roundtrip.eligible():  # one round trip: this check, the rate limit and the cache lookup
            remaining = seconds_left(roundtrip.check_early(BLOCK_PREFIX + ip if checked else None))
        elif checked:
            remaining = remaining_seconds(ip)
        else:
            return
    except roundtrip.Blocked as blocked:
        remaining = seconds_left(blocked.pttl)
    except redis.RedisError as error:
        if not checked:
            return
        monitoring.failed_open("ip_block", error)
        return
    if remaining:
        request.environ[monitoring.BLOCK_ANSWER] = True
        raise IpBlocked("Too many failed sign-ins came from this address; it is blocked for a while.",
                        retry_after=remaining)


def init_app(app):
    """Check blocks on every request (call right after correlation) and add ``flask security``."""
    from project.security.commands import security_cli

    app.before_request(refuse_blocked_clients)
    app.cli.add_command(security_cli)
