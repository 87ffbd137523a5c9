"""Schemathesis against a real gunicorn: no 500, and every answer is one the spec documents.

Each run generates valid and invalid requests for every operation of
``/openapi.json`` (bounded: a few examples an operation, no shrinking, a fixed
seed) and checks each answer's status, content type, headers and body
against the spec. It runs anonymously, as a customer and as an admin (admin
operations are then really exercised). A fuzzer from one address would soon
be rate limited and IP-blocked, so this gunicorn gets high limits and block
thresholds: the run tests the API, and 429/403 stay documented answers.
"""

import subprocess
import sys

import pytest

from tests.builders import TEST_PASSWORD, make_product, make_user

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance,negative_data_rejection,ignored_auth")
HIGH = "100000/minute"
GENEROUS = {
    **{f"RATELIMIT_{name}": HIGH for name in ("ANONYMOUS", "FREE", "PREMIUM", "ADMIN", "SIGN_IN_IP",
                                              "SIGN_IN_ACCOUNT", "REGISTER_IP", "REGISTER_ACCOUNT", "ORDERS",
                                              "REPORTS")},
    "SECURITY_BLOCK_THRESHOLD": "100000", "SECURITY_LOCK_THRESHOLD": "100000",
}


@pytest.fixture
def fuzzed(start_gunicorn, ctx):
    """A gunicorn with generous limits, some products, an admin and a customer."""
    for index in range(3):
        make_product(name=f"Fuzz product {index}", stock=1000)
    users = {role: make_user(role=role, email=f"fuzz-{role}@example.com") for role in ("admin", "customer")}
    return start_gunicorn(workers=2, **GENEROUS), users


def token_for(url, email):
    import json
    import urllib.request

    request = urllib.request.Request(f"{url}/api/v1/auth/token", method="POST",  # noqa: S310 - loopback
                                     data=json.dumps({"email": email, "password": TEST_PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return json.load(answer)["access_token"]


@pytest.mark.parametrize("caller", ["anonymous", "customer", "admin"])
def test_schemathesis_finds_no_500_and_no_undocumented_answer(fuzzed, caller, tmp_path):
    server, users = fuzzed
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json", "--url", server.url,
               "--checks", CHECKS, "--max-examples", "10", "--seed", "7", "--no-shrink", "--workers", "1",
               "--request-timeout", "10", "--phases", "examples,coverage,fuzzing", "--generation-database", "none",
               "--no-color", "--report", "junit", "--report-dir", str(tmp_path),
               # One worker: hypothesis parses lambdas' source with ast, which CPython 3.11 cannot do in two
               # threads at once ("AST constructor recursion depth mismatch"). Signing out would revoke the
               # run's own token halfway through.
               "--exclude-name", "DELETE /api/v1/auth/token"]
    if caller != "anonymous":
        command += ["--header", f"Authorization: Bearer {token_for(server.url, users[caller]['email'])}"]
    # cwd: Schemathesis keeps a `.schemathesis/` folder of its own there, which must not land in the checkout.
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path,  # noqa: S603
                            check=False)
    print(result.stdout[-20000:], result.stderr[-5000:])
    assert result.returncode == 0, result.stdout[-6000:]
