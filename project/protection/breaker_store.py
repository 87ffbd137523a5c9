"""Where circuit-breaker state lives: one Redis hash per breaker, changed only by Lua scripts.

Each decision ("may this call go through?") and each result ("it failed") is
one script, so it is atomic across every worker and instance: exactly one
caller crosses the failure threshold, exactly one turns an expired open
circuit into half-open, and only ``half_open_calls`` trial calls get through.
That caller is told about the transition it made, so it alone logs it. Time
is Redis's own clock (``TIME``), so instances with skewed clocks agree.

Every change starts a new *epoch*; a result carries the epoch of its permit,
and results from an earlier phase (a slow call that began before the circuit
opened) are ignored instead of re-opening or closing the wrong phase.

When Redis cannot be reached, ``BreakerStore`` falls back to ``LocalStore``:
the same rules in this process's memory, retried against Redis every
``STORE_RETRY_SECONDS``. So a breaker keeps protecting this process (and the
``cache`` breaker, whose dependency may be that same Redis, still opens)
instead of adding a failing Redis call to every guarded call.
"""

import time

import redis

from project.protection.breaker_state import LocalStore, Outcome, Permit, effective, reset_ms

IDLE_TTL_MS = 24 * 3600 * 1000  # a closed breaker's hash left alone for a day expires (nothing to remember)
STORE_RETRY_SECONDS = 5.0  # after a Redis error, how long this process uses its local state before retrying

# KEYS[1] the breaker's hash; ARGV reset_ms, half_open_calls.
# Returns {allowed, state, epoch, wait_ms, failures, changed_from}.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'state', 'changed_at', 'trials', 'epoch', 'failures')
local state, epoch, failures = h[1] or 'closed', tonumber(h[4]) or 0, tonumber(h[5]) or 0
if state == 'closed' then return {1, state, epoch, 0, failures, ''} end
local until_ms = (tonumber(h[2]) or 0) + tonumber(ARGV[1])
if now < until_ms then
  if state == 'half_open' and (tonumber(h[3]) or 0) < tonumber(ARGV[2]) then
    redis.call('HINCRBY', KEYS[1], 'trials', 1)
    return {1, state, epoch, 0, failures, ''}
  end
  return {0, state, epoch, until_ms - now, failures, ''}
end
-- Open past its reset timeout, or half-open with trials that never answered: a new round of trials.
redis.call('HSET', KEYS[1], 'state', 'half_open', 'changed_at', now, 'trials', 1, 'successes', 0, 'epoch', epoch + 1)
return {1, 'half_open', epoch + 1, 0, failures, state == 'open' and 'open' or ''}
"""

# KEYS[1] the breaker's hash; ARGV ok (1/0), epoch, failure_threshold, half_open_calls, idle_ttl_ms.
# Returns {state, changed_from, failures}.
RECORD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'state', 'epoch')
local state, epoch = h[1] or 'closed', tonumber(h[2]) or 0
if tonumber(ARGV[2]) ~= epoch then return {state, '', 0} end
local ok = ARGV[1] == '1'
if state == 'closed' then
  if ok then redis.call('HDEL', KEYS[1], 'failures') return {state, '', 0} end
  local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  if failures < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[5]) return {state, '', failures} end
  redis.call('HSET', KEYS[1], 'state', 'open', 'changed_at', now, 'failures', 0, 'epoch', epoch + 1)
  redis.call('PERSIST', KEYS[1])
  return {'open', 'closed', failures}
end
if state ~= 'half_open' then return {state, '', 0} end
if not ok then
  redis.call('HSET', KEYS[1], 'state', 'open', 'changed_at', now, 'epoch', epoch + 1)
  return {'open', 'half_open', 0}
end
if redis.call('HINCRBY', KEYS[1], 'successes', 1) < tonumber(ARGV[4]) then return {state, '', 0} end
redis.call('HSET', KEYS[1], 'state', 'closed', 'changed_at', now, 'trials', 0, 'successes', 0, 'epoch', epoch + 1)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {'closed', 'half_open', 0}
"""


class BreakerStore:
    """Shared state in Redis, with ``LocalStore`` as the fallback while Redis is unreachable."""

    def __init__(self, client, on_error):
        """``client``: a Redis client (short timeouts); ``on_error(error)`` is told of each Redis failure."""
        self.client = client
        self.local = LocalStore()
        self._on_error = on_error
        self._acquire = client.register_script(ACQUIRE)
        self._record = client.register_script(RECORD)
        self._offline_until = 0.0

    def _online(self):
        return time.monotonic() >= self._offline_until

    def _failed(self, error):
        first = self._online()
        self._offline_until = time.monotonic() + STORE_RETRY_SECONDS
        self._on_error(error, first)

    def acquire(self, key, policy):
        """May a call go through? Shared answer when Redis answers, this process's otherwise."""
        if self._online():
            try:
                allowed, state, epoch, wait_ms, failures, changed = self._acquire(
                    keys=[key], args=[reset_ms(policy), policy.half_open_calls])
                return Permit(bool(allowed), state, int(epoch), int(wait_ms), int(failures), changed or None, True)
            except (redis.RedisError, OSError) as error:
                self._failed(error)
        return self.local.acquire(key, policy)

    def record(self, key, policy, permit, ok):
        """Record a call's result where its permit came from (a result Redis cannot take is dropped)."""
        if not permit.shared:
            return self.local.record(key, policy, permit, ok)
        try:
            state, changed, failures = self._record(keys=[key], args=[
                int(ok), permit.epoch, policy.failure_threshold, policy.half_open_calls, IDLE_TTL_MS])
        except (redis.RedisError, OSError) as error:
            self._failed(error)
            return Outcome(permit.state, None, 0)
        return Outcome(state, changed or None, int(failures))

    def snapshot(self, keys_policies):
        """``{key: (state, failures, wait_ms, shared)}`` for ``[(key, policy)]``, in one round trip to Redis."""
        if self._online():
            try:
                with self.client.pipeline(transaction=False) as pipe:
                    pipe.time()
                    for key, _ in keys_policies:
                        pipe.hgetall(key)
                    (seconds, micros), *hashes = pipe.execute()
                now = seconds * 1000 + micros // 1000
                return {key: (*effective(h, policy, now), True)
                        for (key, policy), h in zip(keys_policies, hashes, strict=True)}
            except (redis.RedisError, OSError) as error:
                self._failed(error)
        return {key: (*self.local.snapshot(key, policy), False) for key, policy in keys_policies}
