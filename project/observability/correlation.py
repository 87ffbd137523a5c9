"""Correlation: ``X-Request-ID`` and W3C Trace Context, in and out.

A valid incoming ``X-Request-ID`` is kept, anything else replaced; a valid
``traceparent`` continues its trace with a new span, anything else starts a
new trace. Both are bound to the log context, written into the WSGI environ
(so gunicorn's access line carries them), returned on the response, carried
by jobs and sent on outbound calls. ``get_request_id()`` and
``get_trace_context()`` work in a request, a job or a CLI command.
"""

import logging
import os
import re
import secrets
import uuid
from dataclasses import dataclass

from flask import g, request

from project.observability import context

log = logging.getLogger(__name__)
REQUEST_ID_HEADER = "X-Request-ID"
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9\-_.:]{1,128}")
TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
# tracestate: at most 32 list members of key=value, 512 characters kept (W3C Trace Context, section 3.3).
TRACESTATE_MEMBER = re.compile(
    r"[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]")
ENVIRON_KEY = "store.correlation"


@dataclass(frozen=True)
class TraceContext:
    """Where this unit of work sits in a distributed trace."""

    trace_id: str
    span_id: str
    flags: str = "01"
    parent_id: str | None = None
    tracestate: str | None = None

    @property
    def traceparent(self):
        """The ``traceparent`` header naming this span as the parent of the next hop."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def child(self):
        """A new span in the same trace, whose parent is this span."""
        return TraceContext(self.trace_id, new_span_id(), self.flags, self.span_id, self.tracestate)


def new_request_id():
    """A fresh request ID (32 hex characters)."""
    return uuid.uuid4().hex


def new_span_id():
    """A random, non-zero 16-hex-character span ID."""
    return secrets.token_hex(8)


def parse_traceparent(header, tracestate=None, fresh=None):
    """Continue the trace of a valid ``traceparent``, or start a new one (invalid ones are ignored whole).

    ``fresh``: 48 random hex characters for the new IDs (one ``os.urandom`` call for a
    whole request); by default they are drawn here.
    """
    fresh = fresh or secrets.token_hex(24)
    match = TRACEPARENT.fullmatch(header) if header else None
    if match and match.group(1) != "0" * 32 and match.group(2) != "0" * 16:
        return TraceContext(match.group(1), fresh[32:], match.group(3), match.group(2), clean_tracestate(tracestate))
    return TraceContext(fresh[:32], fresh[32:])


def clean_tracestate(header):
    """The incoming ``tracestate`` when well-formed and within the spec's limits, else None."""
    if not header or len(header) > 512:
        return None
    members = [member.strip() for member in header.split(",") if member.strip()]
    if not members or len(members) > 32 or not all(TRACESTATE_MEMBER.fullmatch(m) for m in members):
        return None
    return ",".join(members)


def get_request_id():
    """The current request ID: the request's, the job's, or one made for this CLI command."""
    request_id = context.current().get("request_id")
    if request_id is None:
        request_id = new_request_id()
        context.update(request_id=request_id)
    return request_id


def get_trace_context():
    """The current trace context, starting a trace when none is bound."""
    trace = context.current().get("trace")
    if trace is None:
        trace = parse_traceparent(None)
        context.update(trace=trace, trace_id=trace.trace_id)
    return trace


def outbound_headers():
    """Headers that carry the correlation to another service: request ID and a child span."""
    trace = get_trace_context().child()
    headers = {REQUEST_ID_HEADER: get_request_id(), "traceparent": trace.traceparent}
    if trace.tracestate:
        headers["tracestate"] = trace.tracestate
    return headers


def bind_request():
    """before_request: adopt or replace the request ID, continue or start the trace.

    Every request runs it, so it reads the WSGI environ directly and draws all its
    random IDs with one system call.
    """
    req = request._get_current_object()  # noqa: SLF001 - werkzeug's documented way to skip the proxy
    environ = req.environ
    fresh = os.urandom(40).hex()  # request ID (32 hex), trace ID (32) and span ID (16) when new
    incoming = environ.get("HTTP_X_REQUEST_ID")
    valid = incoming is not None and VALID_REQUEST_ID.fullmatch(incoming)
    request_id = incoming if valid else fresh[:32]
    trace = parse_traceparent(environ.get("HTTP_TRACEPARENT"), environ.get("HTTP_TRACESTATE"), fresh[32:])
    rule = req.url_rule
    g.correlation_token = context.push(request_id=request_id, trace=trace, trace_id=trace.trace_id,
                                       span_id=trace.span_id, method=req.method, path=req.path,
                                       route=rule.rule if rule is not None else None)
    environ[ENVIRON_KEY] = context.current()
    if incoming is not None and not valid:
        # Never the raw value: it may hold newlines, control characters or 10 kB of junk.
        log.warning("invalid X-Request-ID replaced", extra={"event": "request_id_replaced",
                                                            "new_request_id": request_id,
                                                            "invalid_length": len(incoming)})


def add_response_headers(response):
    """after_request: return the request ID and this span's ``traceparent``.

    The final context (with the user, once known) goes into the WSGI environ
    for gunicorn's access line, which is written after the request ends.
    """
    request.environ[ENVIRON_KEY] = context.current()
    response.headers[REQUEST_ID_HEADER] = get_request_id()
    trace = get_trace_context()
    response.headers["traceparent"] = trace.traceparent
    if trace.tracestate:
        response.headers["tracestate"] = trace.tracestate
    return response


def unbind_request(exc):
    """teardown_request: leave no context behind for the next request on this thread."""
    token = g.pop("correlation_token", None)
    if token is not None:
        context.reset(token)


def init_app(app):
    """Register the hooks; bind_request runs before any other before_request hook."""
    app.before_request_funcs.setdefault(None, []).insert(0, bind_request)
    app.after_request(add_response_headers)
    app.teardown_request(unbind_request)
