"""Helpers for the security monitoring tests: sign-in attempts from an address, and the logged events."""

from prometheus_client import REGISTRY

from tests.logs import json_log_lines as log_lines

TOKEN = "/api/v1/auth/token"
WRONG_PASSWORD = "not the right password"  # noqa: S105 - a test value


def sign_in(client, email, password, ip="127.0.0.1", **kwargs):
    """``POST /auth/token`` as if from ``ip``."""
    return client.post(TOKEN, json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip}, **kwargs)


def fail(client, email, times=1, ip="127.0.0.1"):
    """``times`` sign-ins with a wrong password; return the last answer."""
    response = None
    for _ in range(times):
        response = sign_in(client, email, WRONG_PASSWORD, ip)
    return response


def events(text, name):
    """The log lines of security event ``name``."""
    return [line for line in log_lines(text) if line.get("event") == name and line.get("logger") == "project.security"]


def counter(name, **labels):
    """The current value of a counter in this process (0 when it has no sample yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0
