"""JSON log lines: the contract's fields, bound context, events, exceptions, masking, console format.

Each test logs through its own ``logging.Logger`` whose handler uses the
project's formatter and filter and writes to a ``StringIO``, so nothing
depends on the process-wide logging configuration.
"""

import io
import json
import logging
import logging.config
from datetime import datetime, timedelta

import pytest

from project.config import ConfigError
from project.observability import context
from project.observability.logging import REDACTED, ContextFilter, StoreJsonFormatter, get_logger, logging_config
from tests.settings import load_settings as load

NAME = "tests.unit.logging"
CONTRACT = {"timestamp", "level", "logger", "message", "service", "version", "environment", "request_id", "trace_id"}


class Captured:
    """The raw text written by the test logger, and its lines parsed as JSON."""

    def __init__(self, stream):
        self.stream = stream

    @property
    def text(self):
        return self.stream.getvalue()

    def lines(self):
        return [json.loads(line) for line in self.text.splitlines()]

    def last(self):
        return self.lines()[-1]


@pytest.fixture
def captured():
    """A logger named ``NAME`` writing JSON lines to a string; yields the capture."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(StoreJsonFormatter(service="store-api", version="1.2.3", environment="test"))
    handler.addFilter(ContextFilter())
    logger = logging.getLogger(NAME)
    saved = logger.handlers, logger.level, logger.propagate
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.DEBUG)
    yield Captured(stream)
    logger.handlers, logger.level, logger.propagate = saved


@pytest.fixture
def log():
    """The plain standard-library logger the capture listens to."""
    return logging.getLogger(NAME)


# --- the line ---------------------------------------------------------------------------------------------

def test_a_line_is_one_json_object_with_the_contract_fields(captured, log):
    log.warning("disk almost full")
    assert captured.text.count("\n") == 1
    line = captured.last()
    assert CONTRACT <= line.keys()
    assert line["level"] == "WARNING" and line["logger"] == NAME and line["message"] == "disk almost full"
    assert (line["service"], line["version"], line["environment"]) == ("store-api", "1.2.3", "test")
    assert line["request_id"] is None and line["trace_id"] is None


def test_the_timestamp_is_utc_iso_8601(captured, log):
    log.info("tick")
    stamp = datetime.fromisoformat(captured.last()["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(stamp.tzinfo) - stamp) < timedelta(minutes=1)


def test_newlines_and_control_characters_stay_on_one_line(captured, log):
    message = "first\nsecond\r\nthird\x00\x1b[31m\u2028end"
    log.info(message)
    assert captured.text.count("\n") == 1
    assert captured.last()["message"] == message.replace("\x1b[31m", "")  # colours are stripped


# --- bound context ----------------------------------------------------------------------------------------

def test_bound_values_appear_inside_the_block_only(captured, log):
    with context.bind(request_id="req-1", user_id=42):
        log.info("inside")
    log.info("after")
    inside, after = captured.lines()
    assert inside["request_id"] == "req-1" and inside["user_id"] == 42
    assert after["request_id"] is None and "user_id" not in after


def test_nested_binds_override_then_restore(captured, log):
    with context.bind(request_id="outer", user_id=1):
        with context.bind(request_id="inner", job_id="job-9"):
            log.info("nested")
        log.info("outer again")
    nested, outer = captured.lines()
    assert (nested["request_id"], nested["user_id"], nested["job_id"]) == ("inner", 1, "job-9")
    assert outer["request_id"] == "outer" and "job_id" not in outer


def test_only_known_context_fields_are_copied(captured, log):
    with context.bind(request_id="r", trace=object(), anything="else"):
        log.info("x")
    assert "trace" not in captured.last() and "anything" not in captured.last()


# --- events -----------------------------------------------------------------------------------------------

def test_an_event_logger_gives_the_event_and_its_fields(captured):
    get_logger(NAME).info("order_placed", order_id=7)
    line = captured.last()
    assert line["event"] == "order_placed" and line["message"] == "order_placed"
    assert line["order_id"] == 7 and line["level"] == "INFO"


@pytest.mark.parametrize("keyword", ["name", "args", "message", "msg", "levelname", "exc_text", "asctime"])
def test_a_keyword_named_like_a_log_record_attribute_is_kept_under_a_prefix(captured, keyword):
    get_logger(NAME).info("clash", **{keyword: "value"})
    line = captured.last()
    assert line["field_" + keyword] == "value"
    assert line["logger"] == NAME and line["message"] == "clash"


@pytest.mark.parametrize("keyword", ["level", "event", "logger", "service", "version", "environment", "timestamp"])
def test_a_keyword_cannot_overwrite_the_contract_fields(captured, keyword):
    get_logger(NAME).warning("clash", **{keyword: "forged"})
    line = captured.last()
    assert line["field_" + keyword] == "forged"
    assert (line["level"], line["event"], line["logger"], line["service"]) == ("WARNING", "clash", NAME, "store-api")
    assert "forged" not in (line["version"], line["environment"], line["timestamp"])


# --- exceptions -------------------------------------------------------------------------------------------

def test_an_exception_becomes_a_structured_field(captured, log):
    try:
        raise KeyError("missing")
    except KeyError:
        log.exception("lookup failed")
    line = captured.last()
    assert "exc_info" not in line and "exc_text" not in line
    assert line["exception"]["type"] == "KeyError"
    assert line["exception"]["message"] == "'missing'"
    assert "Traceback" in line["exception"]["stacktrace"] and line["message"] == "lookup failed"


def test_an_event_logger_exception_names_its_module(captured):
    try:
        json.loads("{")
    except json.JSONDecodeError:
        get_logger(NAME).error("parse_failed", exc_info=True)
    assert captured.last()["exception"]["type"] == "json.decoder.JSONDecodeError"


# --- masking ----------------------------------------------------------------------------------------------

SECRET_KEYS = ["password", "new_password", "access_token", "Authorization", "cookie", "secret", "SECRET_KEY",
               "api_key", "stripe_key", "session"]


def test_secret_keys_are_masked_at_any_depth(captured, log):
    fields = {key: "s3cr3t-value" for key in SECRET_KEYS}
    log.info("x", extra={**fields, "nested": {"inner": {"password": "s3cr3t-value"}},
                         "items": [{"api_key": "s3cr3t-value"}, ["ok", {"token": "s3cr3t-value"}]]})
    line = captured.last()
    assert all(line[key] == REDACTED for key in SECRET_KEYS)
    assert line["nested"] == {"inner": {"password": REDACTED}}
    assert line["items"] == [{"api_key": REDACTED}, ["ok", {"token": REDACTED}]]
    assert "s3cr3t-value" not in captured.text


def test_event_fields_are_masked_too(captured):
    get_logger(NAME).info("signed_in", password="s3cr3t-value", headers={"Cookie": "s3cr3t-value"})
    assert "s3cr3t-value" not in captured.text


def test_a_field_named_exception_is_masked_when_there_is_no_exception(captured, log):
    log.info("x", extra={"exception": {"password": "s3cr3t-value"}})
    assert captured.last()["exception"] == {"password": REDACTED}


@pytest.mark.parametrize("key", ["request_id", "monkey", "keyboard", "turnkey", "order_id", "user_id"])
def test_harmless_keys_are_kept(captured, log, key):
    log.info("x", extra={key: "visible"})
    assert captured.last()[key] == "visible"


@pytest.mark.parametrize("key", ["token_count", "session_id", "key"])
def test_the_key_pattern_also_masks_these_lookalikes(captured, log, key):
    # SENSITIVE_KEY matches "token" and "session" anywhere in a name, and a bare "key": erring on the safe side.
    log.info("x", extra={key: "visible?"})
    assert captured.last()[key] == REDACTED


@pytest.mark.parametrize("text", [
    "login with password=hunter2 failed",
    "header Authorization: Bearer abc.def-ghi",
    'body {"password": "hunter2"} rejected',
    "retry with api_key=hunter2&x=1",
    "token: hunter2",
    "header Authorization: Basic hunter2",
    "header Authorization: Token hunter2",
    "header Cookie: sessionid=hunter2",
    "resumed session=hunter2",
])
def test_secrets_inside_the_message_are_masked(captured, log, text):
    log.info(text)
    message = captured.last()["message"]
    assert REDACTED in message
    assert "hunter2" not in message and "abc.def-ghi" not in message


def test_secrets_in_message_arguments_are_masked(captured, log):
    log.info("payload %s", {"password": "hunter2"})
    assert "hunter2" not in captured.text


def test_secrets_inside_an_exception_are_masked(captured, log):
    try:
        raise RuntimeError('auth failed: password=hunter2, Authorization: Bearer abc123, {"password": "hunter2"}')
    except RuntimeError:
        log.exception("request failed")
    exception = captured.last()["exception"]
    assert REDACTED in exception["message"] and REDACTED in exception["stacktrace"]
    assert "Traceback" in exception["stacktrace"]
    assert "hunter2" not in captured.text and "abc123" not in captured.text


# --- console format and settings ----------------------------------------------------------------------------

def console_formatter():
    """The formatter ``dictConfig`` would build from ``logging_config(fmt="console")``."""
    configurator = logging.config.dictConfigClass(logging_config(fmt="console"))
    return configurator.configure_formatter(configurator.config["formatters"]["console"])


def test_console_format_is_readable_text(captured, log):
    captured_handler = log.handlers[0]
    captured_handler.setFormatter(console_formatter())
    log.info("outside any request")
    with context.bind(request_id="req-7"):
        log.warning("inside a request")
    outside, inside = captured.text.splitlines()
    assert not outside.startswith("{") and "INFO" in outside and "[-] outside any request" in outside
    assert f"WARNING {NAME} [req-7] inside a request" in inside


def test_the_json_config_uses_the_store_formatter():
    config = logging_config(fmt="json", service="svc", version="9", environment="production")
    assert config["formatters"]["json"]["()"] is StoreJsonFormatter
    assert config["formatters"]["json"]["environment"] == "production"
    assert config["handlers"]["stdout"]["filters"] == ["context"]


def test_console_format_is_allowed_in_development():
    assert load(APP_ENV="development", LOG_FORMAT="console")["LOG_FORMAT"] == "console"


@pytest.mark.parametrize("env", ["test", "production"])
def test_console_format_is_refused_outside_development(env):
    production = {"SECRET_KEY": "s" * 40} if env == "production" else {}
    with pytest.raises(ConfigError, match="LOG_FORMAT=console"):
        load(APP_ENV=env, LOG_FORMAT="console", **production)


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load(APP_ENV="development", LOG_FORMAT="xml")


@pytest.mark.parametrize("level", ["verbose", "", "TRACE", 10])
def test_an_unknown_log_level_is_refused(level):
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load(APP_ENV="development", LOG_LEVEL=level)


def test_the_log_level_is_case_insensitive():
    assert load(APP_ENV="development", LOG_LEVEL="debug")["LOG_LEVEL"] == "DEBUG"
