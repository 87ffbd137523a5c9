"""The application class: Flask, with two answers it computes on every request kept instead.

Both were found with py-spy under load (``perf/README.md``): Flask asks
``ensure_sync`` about every hook and view of every request, and opens a signed
cookie session for every request, though only the admin pages have one.
"""

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building a signer for requests that carry no session cookie.

    Flask opens the session of every request; only the admin pages have one.
    """

    def open_session(self, app, request):
        """An empty session when there is no cookie to read (as Flask's), else Flask's own."""
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


class StoreFlask(Flask):
    """Flask, remembering which hooks and views are plain functions.

    Flask asks ``ensure_sync`` about every hook and view on every request, and each
    answer is an ``inspect`` call; about twenty a request here. The answers cannot
    change, so they are kept (up to ``SYNC_MEMO_SIZE`` callables: per-request ones
    such as ``after_this_request`` functions are not worth keeping once it is full).
    """

    SYNC_MEMO_SIZE = 1024
    session_interface = CookieSessions()

    def ensure_sync(self, func):
        """Flask's answer, computed once per callable."""
        memo = self.__dict__.setdefault("_sync_memo", {})
        try:
            return memo[func]
        except KeyError:
            found = super().ensure_sync(func)
            if len(memo) < self.SYNC_MEMO_SIZE:
                memo[func] = found
            return found
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)
