"""W3C Trace Context parsing, ``tracestate`` limits, child spans and the request ID pattern."""

import re

import pytest

from project.observability.correlation import (
    VALID_REQUEST_ID,
    TraceContext,
    clean_tracestate,
    new_request_id,
    parse_traceparent,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
VALID = f"00-{TRACE_ID}-{PARENT_ID}-01"
HEX16 = re.compile(r"[0-9a-f]{16}")
HEX32 = re.compile(r"[0-9a-f]{32}")


def test_a_valid_traceparent_continues_its_trace_with_a_new_span():
    trace = parse_traceparent(VALID)
    assert trace.trace_id == TRACE_ID
    assert trace.parent_id == PARENT_ID
    assert trace.flags == "01"
    assert HEX16.fullmatch(trace.span_id) and trace.span_id != PARENT_ID
    assert trace.traceparent == f"00-{TRACE_ID}-{trace.span_id}-01"


def test_the_flags_are_kept():
    assert parse_traceparent(f"00-{TRACE_ID}-{PARENT_ID}-00").flags == "00"


def test_each_parse_makes_a_different_span():
    assert parse_traceparent(VALID).span_id != parse_traceparent(VALID).span_id


@pytest.mark.parametrize("header", [
    f"00-{TRACE_ID[:-1]}-{PARENT_ID}-01",  # trace id too short
    f"00-{TRACE_ID}0-{PARENT_ID}-01",  # trace id too long
    f"00-{TRACE_ID}-{PARENT_ID[:-1]}-01",  # parent id too short
    f"00-{TRACE_ID}-{PARENT_ID}-1",  # flags too short
    f"00-{'0' * 32}-{PARENT_ID}-01",  # all-zero trace id
    f"00-{TRACE_ID}-{'0' * 16}-01",  # all-zero parent id
    f"ff-{TRACE_ID}-{PARENT_ID}-01",  # forbidden version
    f"01-{TRACE_ID}-{PARENT_ID}-01",  # a version this service does not speak
    f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",  # uppercase hex
    f"00-{TRACE_ID}-{PARENT_ID.upper()}-01",
    f"00-{TRACE_ID}-{PARENT_ID}-01-extra",  # extra fields
    f" {VALID}",  # surrounding junk
    f"{VALID}\n",
    f"00-{TRACE_ID[:-1]}g-{PARENT_ID}-01",  # non-hex
    f"00_{TRACE_ID}_{PARENT_ID}_01",
    "",
    None,
])
def test_an_invalid_traceparent_starts_a_new_trace(header):
    trace = parse_traceparent(header, "vendor=kept-only-with-a-valid-parent")
    assert HEX32.fullmatch(trace.trace_id) and trace.trace_id not in (TRACE_ID, "0" * 32)
    assert HEX16.fullmatch(trace.span_id)
    assert trace.parent_id is None and trace.flags == "01" and trace.tracestate is None


def test_new_traces_differ():
    assert parse_traceparent(None).trace_id != parse_traceparent(None).trace_id


def test_tracestate_travels_with_a_valid_traceparent():
    assert parse_traceparent(VALID, "congo=t61rcWkgMzE").tracestate == "congo=t61rcWkgMzE"


# --- tracestate ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "kept"), [
    ("congo=t61rcWkgMzE", "congo=t61rcWkgMzE"),
    ("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
    ("  rojo=1 ,\tcongo=2  ", "rojo=1,congo=2"),  # optional whitespace around members
    ("rojo=1,,congo=2", "rojo=1,congo=2"),  # empty members are allowed and dropped
    ("k=trailing ", "k=trailing"),
    ("tenant@vendor=x,a_b-c*d/e=value with spaces", "tenant@vendor=x,a_b-c*d/e=value with spaces"),
])
def test_a_valid_tracestate_is_kept(header, kept):
    assert clean_tracestate(header) == kept


@pytest.mark.parametrize("header", [
    None,
    "",
    " , ",
    "a=" + "x" * 255 + ",b=" + "x" * 253,  # 513 characters
    "a=" + "x" * 257,  # a value over 256 characters
    ",".join(f"k{i}=v" for i in range(33)),  # over 32 members
    "Upper=1",  # keys are lowercase
    "novalue",
    "k=",
    "k=a=b",  # '=' is not allowed in a value
    "ok=1,bad key=2",  # one malformed member spoils the whole header
    "k=caf\u00e9",  # non-ASCII value
    "k=line\nbreak",
])
def test_an_invalid_tracestate_is_dropped(header):
    assert clean_tracestate(header) is None


def test_tracestate_at_the_limits_is_kept():
    members = ",".join(f"k{i}=v" for i in range(32))
    assert clean_tracestate(members) == members
    exactly_512 = "a=" + "x" * 255 + ",b=" + "x" * 252
    assert len(exactly_512) == 512
    assert clean_tracestate(exactly_512) == exactly_512


# --- child spans ----------------------------------------------------------------------------------------------

def test_a_child_is_a_new_span_in_the_same_trace():
    parent = parse_traceparent(VALID, "congo=1")
    child = parent.child()
    assert child.trace_id == parent.trace_id
    assert child.parent_id == parent.span_id
    assert child.span_id not in (parent.span_id, parent.parent_id) and HEX16.fullmatch(child.span_id)
    assert (child.flags, child.tracestate) == (parent.flags, "congo=1")
    assert child.traceparent == f"00-{TRACE_ID}-{child.span_id}-01"


def test_a_trace_context_is_immutable():
    trace = TraceContext(TRACE_ID, PARENT_ID)
    with pytest.raises(AttributeError):
        trace.trace_id = "0" * 32


# --- request IDs -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["abc-123_x.y:z", "a" * 128, "0", "550e8400-e29b-41d4-a716-446655440000"])
def test_valid_request_ids(value):
    assert VALID_REQUEST_ID.fullmatch(value)


@pytest.mark.parametrize("value", ["", "a" * 129, "a b", "abc\n", "a\x00b", "caf\u00e9", "\u65e5\u672c", "a/b",
                                   "<script>", "a;b", "a=b"])
def test_invalid_request_ids(value):
    assert not VALID_REQUEST_ID.fullmatch(value)


def test_a_new_request_id_is_32_hex_and_valid():
    request_id = new_request_id()
    assert HEX32.fullmatch(request_id) and VALID_REQUEST_ID.fullmatch(request_id)
    assert new_request_id() != request_id
