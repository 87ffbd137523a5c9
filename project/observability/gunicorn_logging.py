"""gunicorn's error and access logs as JSON, sharing the application's request ID.

Set in ``gunicorn.conf.py`` as ``logger_class``. The access line is written
after the response is sent; the app leaves the request's context (request
ID, trace ID, route, user) in the WSGI environ for it, so one ``request_id``
finds the access line and every application line of that request.
"""

from gunicorn.glogging import Logger

from project.observability.correlation import ENVIRON_KEY


class JsonLogger(Logger):
    """gunicorn's logger with one structured access record per request."""

    def access(self, resp, req, environ, request_time):
        """Log the request: method, route, path, status, duration, bytes, client, agent, IDs."""
        if not self.access_log_enabled:
            return
        bound = environ.get(ENVIRON_KEY, {})
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        fields = {
            "event": "http_request",
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "route": bound.get("route"),
            "status": int(status),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "bytes": getattr(resp, "sent", None),
            "client_ip": environ.get("REMOTE_ADDR"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "request_id": bound.get("request_id"),
            "trace_id": bound.get("trace_id"),
            "user_id": bound.get("user_id"),
        }
        try:
            self.access_log.info("%s %s %s", fields["method"], fields["path"], status, extra=fields)
        except Exception:  # a logging failure must never fail the request
            self.exception("access log failed")
