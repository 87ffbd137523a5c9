"""Context for log lines: request ID, trace ID, user, route, job, bound in a contextvar.

A logging filter copies it into every record, so a plain ``log.info(...)``
anywhere carries it. ``bind`` adds keys for a block of code; ``push`` and
``reset`` do the same across a request's before/teardown hooks.
"""

import contextlib
import contextvars
from types import MappingProxyType

# Each bind makes a new dict, so the shared empty default is never mutated.
_context = contextvars.ContextVar("log_context", default=MappingProxyType({}))


def current():
    """The bound context (a dict; do not mutate it)."""
    return _context.get()


def push(**values):
    """Bind ``values`` on top of the current context; return a token for ``reset``."""
    return _context.set({**_context.get(), **values})


def reset(token):
    """Restore the context from before ``push``."""
    _context.reset(token)


def update(**values):
    """Add ``values`` to the context bound now (for facts learnt mid-request, like the user)."""
    _context.set({**_context.get(), **values})


def clear():
    """Forget everything bound in this context (a fresh start, e.g. between tests)."""
    _context.set(MappingProxyType({}))


@contextlib.contextmanager
def bind(**values):
    """Bind the given values for a block of code (a ``with`` statement)."""
    token = push(**values)
    try:
        yield
    finally:
        reset(token)
