"""One Redis round trip a request for the IP-block check, the first rate limit and the cache lookup.

Each of the three is a read-and-update of its own keys, and all their keys are
known once the caller is: for a read (GET or HEAD) without a bearer token, that
is at the block check. So the block check (``blocking.refuse_blocked_clients``)
runs the rate-limit check right there, and the limit's first hit sends one Lua
script (``FUSED``) doing, in order and atomically:

1. the block check (``PTTL``): a blocked client stops here, nothing is counted;
2. the first limit's hit and window read: limits' own moving-window scripts,
   read from the library at start-up, so the algorithm is the library's;
   a breached limit stops here, nothing is looked up;
3. the cache lookup of a cached view (``project.caching.store.LOOKUP``), when
   the cache is on and healthy (its breaker has seen no failure).

Each part's answer waits in a ``Plan`` in the WSGI environ until its owner
asks, at its usual place: the limiter's check (its outcome is raised at the
limiter's own hook, after authentication and the other checks), the block
check, and the cached view. A Redis failure of the script is each owner's
failure, handled as before: the block check and the limit fail open with their
warnings and metrics, the cache counts an error and reads the database.

Other requests (writes, or a presented token, which needs the database to name
the caller) check the block alone first; a signed-in read still sends its limit
and its cache lookup together. Further limits of a request (endpoint policies)
cost one round trip each. The keys of one script must live on one Redis (no
cluster), as every key here does.
"""

from flask import current_app, request

PLAN = "store.roundtrip.plan"
READS = frozenset({"GET", "HEAD"})

# KEYS: [block key], [limit key], [cache: two version keys, views]. ARGV: block?, limit?, cache?,
# then the limit's now, amount, expiry, cost, window start; then LOOKUP's four arguments.
# Returns {block PTTL} when blocked, else {-2, {acquired, oldest or '', entries} or nil, LOOKUP's answer or nil}.
_FUSED = """
local function acquire(KEYS, ARGV)
%s
end
local function window(KEYS, ARGV)
%s
end
local function lookup(KEYS, ARGV)
%s
end
local k = 1
if ARGV[1] == '1' then
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl == -1 or pttl > 0 then return {pttl} end
  k = 2
end
local out = {-2, false, false}
if ARGV[2] == '1' then
  local acquired = acquire({KEYS[k]}, {ARGV[4], ARGV[5], ARGV[6], ARGV[7]})
  local w = window({KEYS[k]}, {ARGV[8], ARGV[5]})
  out[2] = {acquired and 1 or 0, w and w[1] or '', w and w[2] or 0}
  if not acquired then return out end
  k = k + 1
end
if ARGV[3] == '1' then
  out[3] = lookup({KEYS[k], KEYS[k + 1], KEYS[k + 2]}, {ARGV[9], ARGV[10], ARGV[11], ARGV[12]})
end
return out
"""


class Blocked(Exception):  # noqa: N818 - an answer, not an error
    """The script found the client blocked; ``pttl`` is the block key's."""

    def __init__(self, pttl):
        """Keep the block's remaining time."""
        super().__init__(pttl)
        self.pttl = pttl


class Plan:
    """What this request's script checks, and, once sent, its answers (or the Redis error)."""

    def __init__(self, block_key=None, cache=None):
        """``cache``: ``(view, namespaces, entry, token, member)`` of a cached view, or None."""
        self.block_key, self.cache = block_key, cache
        self.sent, self.error, self.pttl, self.lookup, self.lookup_used = False, None, -2, None, False

    def send(self, storage, limit=None):
        """Run the script; ``limit``: ``(key, now, amount, expiry, cost)`` of the first hit, or None.

        Returns the limit's ``(acquired, oldest, entries)`` (None without a limit); raises
        ``Blocked``, or the Redis error (kept for the other owners too).
        """
        self.sent = True
        cache = None
        if self.cache is not None:
            _, namespaces, entry, token, member = self.cache
            store = current_app.extensions["caching"].store
            cache = (store.version_key(namespaces[0]), store.version_key(namespaces[1]), store.views,
                     store.prefix + entry, token, store.lock_ms, member)
        keys, args = script_arguments(self.block_key, limit, cache)
        try:
            answer = script_for(storage)(keys=keys, args=args)
        except Exception as error:
            self.error = error
            raise
        if len(answer) == 1:
            self.pttl = answer[0]
            raise Blocked(self.pttl)
        _, hit, lookup = answer
        if lookup:
            self.lookup = (lookup[0].decode(), lookup[1], bool(lookup[2]))
        return None if hit is None else (bool(hit[0]), hit[1], int(hit[2]))

    def take_lookup(self, view):
        """The script's lookup for ``view``: ``(tag, blob, locked)``, the Redis error, or None (not looked up)."""
        if self.cache is None or self.cache[0] is not view or not self.sent or self.lookup_used:
            return None
        self.lookup_used = True
        return self.error if self.error is not None else self.lookup


def script_arguments(block_key=None, limit=None, cache=None):
    """``(keys, args)`` of one ``FUSED`` call; each part is left out when None.

    ``limit``: ``(key, now, amount, expiry, cost)``; ``cache``: ``(version key, version
    key, views key, entry prefix, fill-lock token, lock ms, view member)``.
    """
    keys, flags, args = [], ["0", "0", "0"], ["", "", "", "", "", "", "", "", ""]
    if block_key is not None:
        keys.append(block_key)
        flags[0] = "1"
    if limit is not None:
        key, now, amount, expiry, cost = limit
        keys.append(key)
        flags[1] = "1"
        args[:5] = [now, amount, expiry, cost, now - expiry]
    if cache is not None:
        keys += cache[:3]
        flags[2] = "1"
        args[5:] = cache[3:]
    return keys, flags + args


def script_for(storage):
    """The fused script on the limiter's storage connection, built once per storage."""
    script = getattr(storage, "_store_fused_script", None)
    if script is None:
        from project.caching.store import LOOKUP

        parts = (storage.lua_acquire_moving_window.script, storage.lua_moving_window.script, LOOKUP)
        source = _FUSED % tuple(part.decode() if isinstance(part, bytes) else part for part in parts)
        script = storage._store_fused_script = storage.get_connection().register_script(source)  # noqa: SLF001
    return script


def pending():
    """The request's plan when it has not been sent yet (the next limit hit sends it), else None."""
    plan = request.environ.get(PLAN)
    return plan if plan is not None and not plan.sent else None


def current():
    """The request's plan, or None."""
    return request.environ.get(PLAN)


def cache_plan():
    """The cache part of a plan: this read's cached view, while the cache is on and its breaker quiet."""
    from project.caching.catalogue import CACHED_VIEWS

    view = CACHED_VIEWS.get(request.endpoint)
    if view is None or request.method not in READS:
        return None
    state = current_app.extensions["caching"]
    if not state.enabled or not state.guard.direct():
        return None
    return (view, *view.prepare(request.view_args or {}))


def check_early(block_key):
    """At the block check of a token-less read: the limiter's check now, its outcome kept for its own hook.

    Returns the block key's PTTL (-2 when not blocked); raises ``Blocked``, or the
    Redis error when the block could not be checked.
    """
    from project.extensions import limiter

    plan = request.environ[PLAN] = Plan(block_key, cache_plan())
    limiter.check_early()
    if not plan.sent and (block_key is not None or plan.cache is not None):  # no limit applied
        plan.send(limiter.storage)
    if plan.error is not None:
        raise plan.error
    return plan.pttl


def eligible():
    """True when nothing between the block check and the limiter can refuse the request or change the caller.

    An API read without a token: no body to refuse, no token to check, no admin page's own check.
    """
    return request.method in READS and "Authorization" not in request.headers and request.path.startswith("/api/")


def release_unused_lock(_exc):
    """teardown_request: a fill lock the script took for a view that never ran is freed at once."""
    plan = request.environ.get(PLAN)
    if plan is None or plan.lookup is None or plan.lookup_used or not plan.lookup[2]:
        return
    state = current_app.extensions["caching"]
    try:
        state.store.release(state.store.prefix + plan.cache[2] + plan.lookup[0], plan.cache[3])
    except Exception:  # noqa: BLE001, S110 - the lock expires on its own within CACHE_LOCK_SECONDS
        pass


def init_app(app):
    """Free unused fill locks after each request."""
    app.teardown_request(release_unused_lock)
