"""The cache's Redis side: keys, versioned namespaces, and the Lua scripts of the hot path.

An entry's key holds the *versions* of the namespaces it depends on, so a
write invalidates by bumping a version (``bump``): every worker and instance
computes the new key on its next read, and an entry filled from data read
before the write lands under the old key, never to be read again.

Keys (``<service>:<env>:cache:`` shared by every release, the release's own below it):

- ``…:cache:v:<namespace>``: a namespace's version (``catalogue``, ``products``, ``product:<id>``)
- ``…:cache:views:product``: a sorted set of product views, for warming
- ``…:cache:<release>:<entry>:<versions>``: an entry: the ETag, a newline, the body; ``…:lock`` beside it while filling

Versions and view counts are shared across releases (a write in the new
release must invalidate what the old one still serves during a rollout);
entries are per release (a new release may render differently).

A lookup is one ``EVALSHA``: read the versions, read the entry, count the view
on a hit, or take the fill lock on a miss. A missing version starts from
Redis's clock, never from 0, so an evicted version key cannot revive old entries.
"""

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from project import redis_client

FAILURES = (redis.RedisError, OSError)  # what counts as the cache being unavailable

# KEYS: the two version keys, the views set. ARGV: entry prefix, lock token ('' = no lock), lock ms, view member.
# Returns {versions, entry or nil, 1 when this caller took the fill lock}.
LOOKUP = """
local function version(key)
  local v = redis.call('GET', key)
  if not v then
    local t = redis.call('TIME')
    v = t[1] .. string.format('%06d', tonumber(t[2]))
    redis.call('SET', key, v)
  end
  return v
end
local tag = version(KEYS[1]) .. '.' .. version(KEYS[2])
local entry = ARGV[1] .. tag
local blob = redis.call('GET', entry)
if blob then
  if ARGV[4] ~= '' then redis.call('ZINCRBY', KEYS[3], 1, ARGV[4]) end
  return {tag, blob, 0}
end
if ARGV[2] == '' then return {tag, false, 0} end
local locked = redis.call('SET', entry .. ':lock', ARGV[2], 'NX', 'PX', ARGV[3])
return {tag, false, locked and 1 or 0}
"""

# KEYS: entry, lock, views. ARGV: blob, ttl ms, lock token, view member. Store, count the view, free our lock.
STORE = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[4] ~= '' then redis.call('ZINCRBY', KEYS[3], 1, ARGV[4]) end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
"""

# KEYS: the lock. ARGV: our token. Free the lock only if it is still ours (it may have expired and been retaken).
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: version keys. Bump each; a missing one starts from the clock (see LOOKUP), never from 1.
BUMP = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('INCR', key)
  else
    local t = redis.call('TIME')
    redis.call('SET', key, t[1] .. string.format('%06d', tonumber(t[2])))
  end
end
return #KEYS
"""


def release_name(config):
    """The release in entry keys: the version, plus the commit when it is known."""
    commit = str(config.get("COMMIT") or "unknown")
    return config["VERSION"] if commit == "unknown" else f"{config['VERSION']}+{commit[:12]}"


def make_client(config):
    """A Redis client of the cache's own: short timeouts and no retries, so an outage costs little per call."""
    timeout = config["CACHE_SOCKET_TIMEOUT"]
    return redis_client.connect(config["REDIS_URL"], socket_timeout=timeout, socket_connect_timeout=timeout,
                                 retry=Retry(NoBackoff(), 0), health_check_interval=30)


class CacheStore:
    """The cache's keys and scripts on one Redis client."""

    def __init__(self, client, config):
        """Derive the key prefixes from the settings; register the scripts (nothing is sent yet)."""
        self.client = client
        self.shared = f"{config['SERVICE_NAME']}:{config['APP_ENV']}:cache:"
        self.prefix = f"{self.shared}{release_name(config)}:"  # flask-caching's CACHE_KEY_PREFIX too
        self.views = f"{self.shared}views:product"
        self.lock_ms = int(config["CACHE_LOCK_SECONDS"] * 1000)
        self._lookup = client.register_script(LOOKUP)
        self._store = client.register_script(STORE)
        self._release = client.register_script(RELEASE)
        self._bump = client.register_script(BUMP)

    def version_key(self, namespace):
        """The key of ``namespace``'s version."""
        return f"{self.shared}v:{namespace}"

    def lookup(self, namespaces, entry, *, token="", member=""):
        """``(versions, blob or None, locked)``: one round trip; ``token`` tries the fill lock on a miss."""
        tag, blob, locked = self._lookup(
            keys=[self.version_key(namespaces[0]), self.version_key(namespaces[1]), self.views],
            args=[self.prefix + entry, token, self.lock_ms, member])
        return tag.decode(), blob, bool(locked)

    def store(self, key, blob, ttl, *, token="", member=""):
        """Store ``blob`` under the full ``key`` for ``ttl`` seconds, count the view, release our lock."""
        self._store(keys=[key, key + ":lock", self.views], args=[blob, int(ttl * 1000), token, member])

    def poll(self, key):
        """``(blob or None, lock still held)`` for a waiter, in one round trip."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.exists(key + ":lock")
            blob, locked = pipe.execute()
        return blob, bool(locked)

    def release(self, key, token):
        """Free the fill lock of ``key`` if it is still ours."""
        self._release(keys=[key + ":lock"], args=[token])

    def bump(self, namespaces):
        """Invalidate: a new version for each namespace, in one round trip."""
        self._bump(keys=[self.version_key(namespace) for namespace in namespaces])

    def most_viewed(self, top):
        """The ``top`` most viewed product ids, most viewed first."""
        return [int(member) for member in self.client.zrevrange(self.views, 0, top - 1)]

    def forget_view(self, member):
        """Drop a product from the view counts (it no longer exists)."""
        self.client.zrem(self.views, member)
