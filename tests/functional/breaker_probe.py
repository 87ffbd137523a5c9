"""Another process using a circuit breaker: ``python -m tests.functional.breaker_probe [options]``.

It builds the app from the environment (the test run's servers and breaker
settings), prints ``{"ready": true}`` and waits for a line on stdin holding
the time to start at (so the interpreter's start-up does not count, and
several probes start together), makes ``--calls`` calls through the breaker
and prints the app's JSON log lines, then one summary line
``{"probe": {...}}`` with what happened and the breaker's state as this
process reads it from Redis.
"""

import argparse
import json
import sys
import time

from project import create_app
from project.outbound import OutboundError, post_json
from project.protection import breakers


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--breaker", default="webhook")
    parser.add_argument("--calls", type=int, default=1)
    parser.add_argument("--url", help="POST to this URL (else a local call that fails or succeeds)")
    parser.add_argument("--fail", action="store_true", help="the local call raises OutboundError")
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds the local call takes")
    args = parser.parse_args()

    app = create_app()
    seen = {"executed": 0, "ok": 0, "failed": 0, "short_circuited": 0}

    def local_call():
        seen["executed"] += 1
        time.sleep(args.sleep)
        if args.fail:
            raise OutboundError("the dependency failed")

    def remote_call():
        seen["executed"] += 1
        post_json(args.url, {"probe": True}, timeout=app.config["WEBHOOK_TIMEOUT"])

    with app.app_context():
        breaker = breakers.get(args.breaker)
        print(json.dumps({"ready": True}), flush=True)
        start_at = float(sys.stdin.readline().strip() or 0)
        time.sleep(max(0.0, start_at - time.time()))
        for _ in range(args.calls):
            try:
                breaker.call(remote_call if args.url else local_call)
                seen["ok"] += 1
            except breakers.CircuitOpen:
                seen["short_circuited"] += 1
            except OutboundError:
                seen["failed"] += 1
        print(json.dumps({"probe": {**seen, "status": breaker.status()}}), flush=True)
    app.extensions["db"].close()


if __name__ == "__main__":
    main()
