"""``Idempotency-Key`` on ``POST /api/v1/orders`` (IETF draft-ietf-httpapi-idempotency-key-header).

A client that may retry (a timeout, a 503, a dropped connection) sends a key
of its choosing; a retry with the same key by the same user gets the first
answer again, with ``Idempotent-Replayed: true``, and creates nothing.

The record lives in PostgreSQL (``idempotency_keys``) and is written in the
transaction that creates the order: the order and the memory of its answer
commit together or not at all, so no retry can duplicate an order, whichever
instance it reaches, and a Redis restart forgets nothing. A transaction-scoped
advisory lock on (user, key) tells a retry that arrives while the first
request still runs (409 with ``Retry-After``) instead of making it wait.
Only a success is remembered: a failed attempt (short stock, a 503) changed
nothing, so its retry simply runs again.
"""

import hashlib
import json
import re

from flask import current_app, jsonify, request
from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb

from project import db
from project.errors import IdempotencyKeyInFlight, IdempotencyKeyMismatch, InvalidIdempotencyKey
from project.store.orders import repository
from project.store.orders.schemas import OrderSchema

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_LENGTH = 255
IN_FLIGHT_RETRY_AFTER = 1  # seconds: placing an order takes milliseconds, so the answer is soon there
PRINTABLE = re.compile(r"[\x20-\x7e]+")
# The draft's form is a Structured Field string ("..." with \" and \\ escapes); a bare value is taken as it is.
SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
LOCK_NAMESPACE = b"store:idempotency-key:"
_render = OrderSchema().dump
PARAMETER = {  # the operation's OpenAPI header parameter
    "name": HEADER, "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH,
               "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$"},
    "example": "8e03978e-40d5-43e8-bc93-6894a57f9324",
    "description": "A key you choose per order (a UUID, say), kept for `IDEMPOTENCY_TTL_SECONDS` per user. A "
                   "retry with the same key and body gets the first answer again, with `Idempotent-Replayed: "
                   "true`, and orders nothing new; the same key with another body is 422 "
                   "`idempotency-key-mismatch`; while the first request is still running, 409 "
                   "`idempotency-key-in-flight` with `Retry-After`; a malformed key is 400 "
                   "`invalid-idempotency-key`. Only a 201 is remembered: after an error, a retry runs again.",
}


def key_from_request():
    """The request's ``Idempotency-Key``, or None without one; InvalidIdempotencyKey when it is malformed."""
    values = request.headers.getlist(HEADER)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidIdempotencyKey("Send one Idempotency-Key header, not several.")
    value = values[0].strip()
    quoted = SF_STRING.fullmatch(value)
    if quoted:
        value = re.sub(r"\\(.)", r"\1", quoted.group(1))
    elif value.startswith('"'):
        raise InvalidIdempotencyKey('A quoted Idempotency-Key must be one string: "..." with \\" and \\\\ escapes.')
    if not 1 <= len(value) <= MAX_LENGTH or not PRINTABLE.fullmatch(value):
        raise InvalidIdempotencyKey(f"The Idempotency-Key header must be 1-{MAX_LENGTH} printable ASCII characters.")
    return value


def fingerprint(payload):
    """SHA-256 of the validated request body in a canonical form (key order and spacing do not matter)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).digest()


def lock_id(user_id, key):
    """The 64-bit advisory lock number of (user, key); a rare collision only costs a spurious 409."""
    digest = hashlib.blake2b(LOCK_NAMESPACE + f"{user_id}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def place_order_once(*, user_id, key, payload):
    """Place the order of ``payload`` unless ``key`` already did; return ``(order, replay)``.

    Exactly one of them is set: ``order`` (as the repository returns it) when
    it was placed now, ``replay`` (the first answer, a ready Response) when
    the key was used before with the same body. A different body raises
    IdempotencyKeyMismatch; the key's first request still running raises
    IdempotencyKeyInFlight.
    """
    request_hash = fingerprint(payload)
    ttl = current_app.config["IDEMPOTENCY_TTL_SECONDS"]
    with db.transaction() as conn:
        # Held until commit, when the record is visible: whoever gets the lock next finds it.
        if not conn.execute("SELECT pg_try_advisory_xact_lock(%s) AS got", (lock_id(user_id, key),)).fetchone()["got"]:
            raise IdempotencyKeyInFlight("A request with this Idempotency-Key is still being processed; retry "
                                         f"after {IN_FLIGHT_RETRY_AFTER} s to get its answer.",
                                         retry_after=IN_FLIGHT_RETRY_AFTER)
        # An expired record counts as absent: drop it now (lazily; `flask db purge-idempotency-keys` does the rest).
        conn.execute("DELETE FROM idempotency_keys WHERE user_id = %s AND key = %s"
                     " AND created_at < now() - make_interval(secs => %s)", (user_id, key, ttl))
        found = conn.execute("SELECT request_hash, status, response FROM idempotency_keys"
                             " WHERE user_id = %s AND key = %s", (user_id, key)).fetchone()
        if found is not None:
            if bytes(found["request_hash"]) != request_hash:
                raise IdempotencyKeyMismatch("This Idempotency-Key was already used with a different request body; "
                                             "send a new key for a new order.")
            return None, replay(found["status"], found["response"])
        order = repository.place_order(user_id=user_id, lines=payload["items"], conn=conn)
        try:
            conn.execute("INSERT INTO idempotency_keys (user_id, key, request_hash, status, response, order_id)"
                         " VALUES (%s, %s, %s, %s, %s, %s)",
                         (user_id, key, request_hash, 201, Jsonb(_render(order)), order["id"]))
        except UniqueViolation:
            # Cannot happen while the advisory lock holds; if it ever does, the constraint wins and the
            # order rolls back: the client retries and gets the other request's answer.
            raise IdempotencyKeyInFlight("A request with this Idempotency-Key was just processed; retry to get "
                                         "its answer.", retry_after=IN_FLIGHT_RETRY_AFTER) from None
    return order, None


def replay(status, body):
    """The stored answer as a response, marked as a replay."""
    response = jsonify(body)
    response.status_code = status
    response.headers[REPLAYED_HEADER] = "true"
    return response


def purge_expired(*, ttl_seconds):
    """Delete every record older than ``ttl_seconds``; return how many."""
    with db.connection() as conn:
        return conn.execute("DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => %s)",
                            (ttl_seconds,)).rowcount
