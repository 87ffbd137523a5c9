"""The cost of production readiness: the store's cached product read against bare Flask.

Both run under gunicorn with the same number of sync workers (no keep-alive in
either), on 127.0.0.1; the store with its production ``gunicorn.conf.py``, the
bare app with gunicorn's defaults (``bare_gunicorn.conf.py``),
at the same time; ``wrk`` loads them in interleaved rounds (bare, store, bare,
store, ...) so that whatever else the shared machine is doing falls on both
alike, and the medians of the rounds are compared. The store runs with every
feature on: JSON access and application logs, request IDs, metrics in
multiprocess mode, the IP block check, rate limiting (with limits raised so
that one load generator is measured rather than refused) and the cache.

    python -m perf.bench --rounds 8 --seconds 5     # make bench
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import urllib.request
from pathlib import Path

from perf.run import REPORTS, RUN_ENV, free_port, stop, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
# Every feature on, as in ``make perf`` (limits checked on every request, but high enough that
# one client on one IP is measured rather than refused).
STORE_ENV = RUN_ENV
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url, *, seconds, connections, threads=1):
    """``(requests per second, p99 ms, non-2xx count)`` of one wrk round."""
    result = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],  # noqa: S603, S607
                            capture_output=True, text=True, check=True)
    out = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE).groups()
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, float(value) * _UNITS[unit], int(errors.group(1)) if errors else 0


def start(command, env, log):
    """A gunicorn subprocess writing to ``log``."""
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)  # noqa: S603


def main(argv=None):
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    from project.devservices import INSTANCE, embedded_services

    REPORTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **STORE_ENV, "WEB_CONCURRENCY": str(args.workers)}
    with embedded_services(env, postgres_dir=INSTANCE / "postgres-perf", valkey_dir=None, database="store_perf"), \
            (REPORTS / "bench.log").open("ab") as log:
        from perf.run import prepare

        prepare(env)
        port, bare_port = free_port(), free_port()
        store = start([sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"],
                      {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}, log)
        bare = start([sys.executable, "-m", "gunicorn", "--config", "perf/bare_gunicorn.conf.py",
                      "--workers", str(args.workers), "--bind",
                      f"127.0.0.1:{bare_port}", "--log-level", "warning", "perf.bare_app:app"], env, log)
        try:
            store_url = f"http://127.0.0.1:{port}/api/v1/products/1"
            bare_url = f"http://127.0.0.1:{bare_port}/api/v1/products/1"
            wait_until_serving(store_url, store)
            wait_until_serving(bare_url, bare)
            with urllib.request.urlopen(store_url, timeout=5):  # noqa: S310 - fill the cache before measuring
                pass
            rounds = {"bare": [], "store": []}
            for _ in range(args.rounds):
                for name, url in (("bare", bare_url), ("store", store_url)):
                    rounds[name].append(wrk(url, seconds=args.seconds, connections=args.connections))
        finally:
            stop([store, bare])
    print(report(rounds, args))
    return 0 if all(errors == 0 for figures in rounds.values() for *_, errors in figures) else 1


def report(rounds, args):
    """A Markdown table of the medians and the ratios."""
    medians = {name: (statistics.median(r[0] for r in figures), statistics.median(r[1] for r in figures),
                      sum(r[2] for r in figures)) for name, figures in rounds.items()}
    (bare_rps, bare_p99, _), (store_rps, store_p99, store_errors) = medians["bare"], medians["store"]
    return "\n".join([
        f"{args.rounds} interleaved rounds of {args.seconds} s, wrk -c{args.connections}, "
        f"gunicorn {args.workers} sync workers each; medians",
        "",
        "| app | requests/s | p99 ms | non-2xx |",
        "|---|---|---|---|",
        f"| bare Flask | {bare_rps:.0f} | {bare_p99:.2f} | {medians['bare'][2]} |",
        f"| store, every feature on (cached product read) | {store_rps:.0f} | {store_p99:.2f} | {store_errors} |",
        f"| **ratio** | **{store_rps / bare_rps:.2f}x** throughput | **{store_p99 / bare_p99:.2f}x** p99 | |",
    ])


if __name__ == "__main__":
    sys.exit(main())
