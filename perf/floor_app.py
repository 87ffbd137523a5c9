"""The floor under ``make bench``: bare Flask plus the store's one Redis round trip, nothing else.

Each read sends the store's fused script (``project.protection.roundtrip``):
the block check, the rate limit's hit and window read (at the bench's limit),
the cache lookup; then answers the cached bytes. Run under the store's
``gunicorn.conf.py`` (its JSON access line, worker recycling and hooks), it
is what any design that keeps exact shared limits, blocks and the Redis
cache pays before its own code: ``perf/bench.py --floor`` measures it beside
the bare app and the store.
"""

import os
import time

from flask import Flask, Response, request
from limits import parse
from limits.storage import storage_from_string

from project.protection.roundtrip import script_arguments, script_for

app = Flask(__name__)
storage = storage_from_string(os.environ["REDIS_URL"])
script = script_for(storage)
PREFIX = "floor:"
# The store's anonymous limit (the bench's environment raises it for --one-client).
_LIMIT = parse(os.environ.get("RATELIMIT_ANONYMOUS", "60/minute"))
LIMIT, EXPIRY = _LIMIT.amount, _LIMIT.get_expiry()
BODY = (b'{"category":"kitchen","description":"Porcelain, 90 ml.","id":1,"name":"Espresso cup",'
        b'"price":"9.99","stock":120}\n')
storage.get_connection().set(PREFIX + "entry:1.1", b'"etag"\n' + BODY)
storage.get_connection().mset({PREFIX + "v1": "1", PREFIX + "v2": "1"})


@app.get("/api/v1/products/<int:product_id>")
def product(product_id):
    """The round trip, then the cached body."""
    now = time.time()
    client = request.headers.get("X-Forwarded-For") or request.remote_addr
    keys, args = script_arguments(PREFIX + "blocked:" + client, (PREFIX + "limit:" + client, now, LIMIT, EXPIRY, 1),
                                  (PREFIX + "v1", PREFIX + "v2", PREFIX + "views", PREFIX + "entry:", "", 1000,
                                   str(product_id)))
    _, hit, lookup = script(keys=keys, args=args)
    if not hit[0]:
        return Response(status=429)
    etag, _, body = lookup[1].partition(b"\n")
    return Response(body, mimetype="application/json", headers={"ETag": etag.decode()})
