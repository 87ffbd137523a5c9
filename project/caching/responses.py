"""Cached view responses: the body in Redis, ETag and 304, Cache-Control, stampede protection.

``CachedView`` decorates a public GET view (outermost, so a hit skips argument
parsing and serialisation). A hit is one round trip to Redis and a response
built from stored bytes. A miss takes a short fill lock in the same round
trip; the lock holder renders the view and stores the body, while other
misses of the same key poll for it (bounded by ``CACHE_LOCK_SECONDS``) and
render it themselves only if the holder gives up or dies. Only 200 answers
without cookies are stored, keyed by path arguments and the normalised query
string, never by the caller: the views it wraps must be public.
"""

import functools
import hashlib
import secrets
import time

from flask import current_app, request

from project.caching import guard as guards
from project.caching.metrics import LOCK_WAITS, counted
from project.protection import roundtrip

RESULT_KEY = "store.cache_result"  # in the WSGI environ: hit, miss, error or bypass (for logs and warming)
WARMING_KEY = "store.cache_warming"  # set by warm_cache: fill, but count neither lookups nor views
FIRST_POLL, LAST_POLL = 0.005, 0.05  # seconds between a waiter's polls, doubling


def etag_of(body):
    """A strong ETag from the body's bytes."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _not_modified(etag):
    header = request.headers.get("If-None-Match")
    return bool(header) and request.if_none_match.contains_weak(etag[1:-1])


def answer(etag, body, max_age):
    """200 with ``body``, or 304 when the request's ``If-None-Match`` has ``etag``."""
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if _not_modified(etag):
        return current_app.response_class(status=304, headers=headers)
    return current_app.response_class(body, status=200, headers=headers, mimetype="application/json")


class CachedView:
    """A view decorator caching its 200 bodies under ``cache`` (a metrics label)."""

    def __init__(self, cache, *, entry, namespaces, ttl_setting, member=None):
        """Describe one cache from the view's keyword arguments.

        ``entry(kwargs)``: the key below the release prefix; ``namespaces(kwargs)``: the
        two namespaces it depends on; ``member(kwargs)``: the product whose views to count, or None.
        """
        self.cache, self.entry, self.namespaces = cache, entry, namespaces
        self.ttl_setting, self.member = ttl_setting, member

    def __call__(self, view):
        """Wrap ``view`` (keeps flask-smorest's documentation attributes)."""

        @functools.wraps(view)
        def cached(*args, **kwargs):
            return self.serve(view, args, kwargs)

        return cached

    def prepare(self, kwargs):
        """``(namespaces, entry, fill-lock token, member)`` of a lookup for the view's ``kwargs``."""
        member = "" if request.environ.get(WARMING_KEY, False) or self.member is None else self.member(kwargs)
        return self.namespaces(kwargs), self.entry(kwargs), secrets.token_hex(8), member

    def serve(self, view, args, kwargs):
        """Answer from the cache, or render, store and answer."""
        state = current_app.extensions["caching"]
        if not state.enabled:
            return self._uncached(view, args, kwargs, "bypass")
        warming = request.environ.get(WARMING_KEY, False)
        plan = roundtrip.current()  # a lookup made with the block check and the rate limit, if any
        found = plan.take_lookup(self) if plan is not None else None
        if found is None:
            namespaces, entry, token, member = self.prepare(kwargs)
            try:
                tag, blob, locked = state.guard.call(state.store.lookup, namespaces, entry, token=token,
                                                     member=member)
            except guards.Bypassed:
                return self._uncached(view, args, kwargs, "bypass")
            except guards.Failed:
                return self._uncached(view, args, kwargs, "error")
        elif isinstance(found, Exception):  # the request's one round trip failed: as a direct call would
            state.guard.failed(found)
            return self._uncached(view, args, kwargs, "error")
        else:  # looked up with the block check and the rate limit (project.protection.roundtrip)
            (_, _, entry, token, member), (tag, blob, locked) = plan.cache, found
        key = state.store.prefix + entry + tag
        if blob is None and not locked:
            blob = self._wait(state, key)
        if blob is not None:
            self._count("hit", warming)
            etag, _, body = blob.partition(b"\n")
            return answer(etag.decode(), body, current_app.config["CACHE_HTTP_MAX_AGE"])
        self._count("miss", warming)
        return self._fill(state, view, args, kwargs, key, token if locked else "", member)

    def _count(self, result, warming=False):
        request.environ[RESULT_KEY] = result
        if not warming:
            counted(self.cache, result)

    def _uncached(self, view, args, kwargs, result):
        """Redis unavailable or the cache off: the database answers, with HTTP caching all the same."""
        self._count(result, request.environ.get(WARMING_KEY, False))
        response, etag, body = self._render(view, args, kwargs)
        return response if etag is None else answer(etag, body, current_app.config["CACHE_HTTP_MAX_AGE"])

    @staticmethod
    def _render(view, args, kwargs):
        """``(response, etag, body)``; etag and body are None unless it is a cacheable 200 (no cookie)."""
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code != 200 or response.direct_passthrough or "Set-Cookie" in response.headers:
            return response, None, None
        body = response.get_data()
        return response, etag_of(body), body

    def _fill(self, state, view, args, kwargs, key, token, member):
        """Render; store a cacheable answer (which frees our lock); free the lock whatever else happens."""
        stored = False
        try:
            response, etag, body = self._render(view, args, kwargs)
            if etag is None:
                return response
            try:
                state.guard.call(state.store.store, key, etag.encode() + b"\n" + body,
                                 current_app.config[self.ttl_setting], token=token, member=member)
                stored = True
            except (guards.Bypassed, guards.Failed):
                pass
            return answer(etag, body, current_app.config["CACHE_HTTP_MAX_AGE"])
        finally:
            if token and not stored:
                try:
                    state.guard.call(state.store.release, key, token)
                except (guards.Bypassed, guards.Failed):
                    pass  # the lock expires on its own within CACHE_LOCK_SECONDS

    def _wait(self, state, key):
        """Another worker is filling ``key``: poll until it is there, the lock goes, or time is up."""
        deadline = time.monotonic() + current_app.config["CACHE_LOCK_SECONDS"]
        delay = FIRST_POLL
        while (remaining := deadline - time.monotonic()) > 0:
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, LAST_POLL)
            try:
                blob, locked = state.guard.call(state.store.poll, key)
            except (guards.Bypassed, guards.Failed):
                return None
            if blob is not None:
                LOCK_WAITS.labels(self.cache, "filled").inc()
                return blob
            if not locked:
                LOCK_WAITS.labels(self.cache, "abandoned").inc()  # the holder failed, or died and its lock expired
                return None
        LOCK_WAITS.labels(self.cache, "timeout").inc()
        return None
