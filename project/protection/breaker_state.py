"""Breaker state as values: the policy, a permit, an outcome, and the per-process ``LocalStore``.

``LocalStore`` applies the same rules as the Lua scripts of ``breaker_store``
to this process's memory; it stands in while Redis cannot be reached.
"""

import threading
import time
from dataclasses import dataclass

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATES = (CLOSED, OPEN, HALF_OPEN)


@dataclass(frozen=True)
class Policy:
    """A breaker's rules: failures in a row that open it, seconds it stays open, trial calls when half-open."""

    failure_threshold: int
    reset_timeout: float
    half_open_calls: int


@dataclass(frozen=True)
class Permit:
    """The answer to "may this call go through?"; ``changed_from`` is set when this very call changed the state."""

    allowed: bool
    state: str
    epoch: int
    wait_ms: int
    failures: int
    changed_from: str | None
    shared: bool


@dataclass(frozen=True)
class Outcome:
    """The state after a result was recorded; ``changed_from`` is set when this result changed it."""

    state: str
    changed_from: str | None
    failures: int


def reset_ms(policy):
    """The policy's reset timeout in milliseconds."""
    return int(policy.reset_timeout * 1000)


class LocalStore:
    """The same rules as the scripts, in this process's memory: the stand-in while Redis is unreachable."""

    def __init__(self):
        """No breaker is known yet: each starts closed."""
        self._lock = threading.Lock()
        self._hashes = {}

    def _hash(self, key):
        return self._hashes.setdefault(key, {"state": CLOSED, "changed_at": 0, "trials": 0, "successes": 0,
                                             "epoch": 0, "failures": 0})

    def acquire(self, key, policy):
        """Like ``ACQUIRE``."""
        now = int(time.time() * 1000)
        with self._lock:
            h = self._hash(key)
            state, epoch, failures = h["state"], h["epoch"], h["failures"]
            if state == CLOSED:
                return Permit(True, state, epoch, 0, failures, None, False)
            until_ms = h["changed_at"] + reset_ms(policy)
            if now < until_ms:
                if state == HALF_OPEN and h["trials"] < policy.half_open_calls:
                    h["trials"] += 1
                    return Permit(True, state, epoch, 0, failures, None, False)
                return Permit(False, state, epoch, until_ms - now, failures, None, False)
            h.update(state=HALF_OPEN, changed_at=now, trials=1, successes=0, epoch=epoch + 1)
            return Permit(True, HALF_OPEN, epoch + 1, 0, failures, OPEN if state == OPEN else None, False)

    def record(self, key, policy, permit, ok):
        """Like ``RECORD``."""
        now = int(time.time() * 1000)
        with self._lock:
            h = self._hash(key)
            state, epoch = h["state"], h["epoch"]
            if permit.epoch != epoch:
                return Outcome(state, None, 0)
            if state == CLOSED:
                h["failures"] = 0 if ok else h["failures"] + 1
                if h["failures"] < policy.failure_threshold:
                    return Outcome(state, None, h["failures"])
                failures, h["failures"] = h["failures"], 0
                h.update(state=OPEN, changed_at=now, epoch=epoch + 1)
                return Outcome(OPEN, CLOSED, failures)
            if state != HALF_OPEN:
                return Outcome(state, None, 0)
            if not ok:
                h.update(state=OPEN, changed_at=now, epoch=epoch + 1)
                return Outcome(OPEN, HALF_OPEN, 0)
            h["successes"] += 1
            if h["successes"] < policy.half_open_calls:
                return Outcome(state, None, 0)
            h.update(state=CLOSED, changed_at=now, trials=0, successes=0, epoch=epoch + 1)
            return Outcome(CLOSED, HALF_OPEN, 0)

    def snapshot(self, key, policy):
        """``(state, failures, wait_ms)`` as this process knows it."""
        with self._lock:
            h = dict(self._hash(key))
        return effective(h, policy, int(time.time() * 1000))


def effective(h, policy, now):
    """What a reader should report: an open circuit past its timeout lets the next call through as a trial."""
    state = h.get("state") or CLOSED
    if state == CLOSED:
        return CLOSED, int(h.get("failures") or 0), 0
    wait_ms = int(h.get("changed_at") or 0) + reset_ms(policy) - now
    if state == OPEN and wait_ms <= 0:
        return HALF_OPEN, 0, 0
    return state, 0, max(wait_ms, 0)
