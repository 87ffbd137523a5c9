"""``wsgi:app`` plus ``GET /test/slow?seconds=N``: an in-flight request for the drain tests."""

import time

from flask import request

from wsgi import app


@app.get("/test/slow")
def slow():
    """Answer after ``seconds`` (at most 10)."""
    seconds = min(float(request.args.get("seconds", "1")), 10.0)
    time.sleep(seconds)
    return {"slept": seconds}
