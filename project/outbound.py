"""Outbound HTTP calls that carry the correlation (``X-Request-ID``, ``traceparent``).

Standard library only (urllib): one JSON POST with a timeout, logged as one
structured line with the target's host and path (never its query string or
credentials, where webhook URLs keep their secrets).
"""

import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from project.observability.correlation import outbound_headers
from project.observability.logging import get_logger
from project.version import VERSION

log = get_logger(__name__)


class OutboundError(Exception):
    """The call failed: no connection, a timeout, or a non-2xx answer."""


def safe_target(url):
    """``host/path`` of ``url``, without credentials or query string, for logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


def post_json(url, payload, *, timeout):
    """POST ``payload`` as JSON to ``url``; return the status. Raises OutboundError on failure."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise OutboundError("only http and https URLs are called")
    headers = {"Content-Type": "application/json", "User-Agent": f"store-api/{VERSION}", **outbound_headers()}
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=json.dumps(payload, default=str).encode(), headers=headers, method="POST")
    started = time.perf_counter()
    status, error = None, None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            status = response.status
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        error = type(getattr(exc, "reason", exc)).__name__
    finally:
        log.info("http_outbound", method="POST", target=safe_target(url), status=status, error=error,
                 duration_ms=round((time.perf_counter() - started) * 1000, 3),
                 traceparent=headers["traceparent"])
    if error:
        raise OutboundError(f"POST {safe_target(url)} failed: {error}")
    return status
