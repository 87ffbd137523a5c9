"""One headless Locust run against the real service on 127.0.0.1, then the regression check.

Starts embedded PostgreSQL (its own data directory, ``instance/postgres-perf``)
and a throw-away Valkey unless ``DATABASE_URL`` / ``REDIS_URL`` are set,
migrates and seeds, gives every product ample stock (buyers must not run the
shop dry mid-run), then starts gunicorn (``gunicorn.conf.py``), an RQ worker
and the bare calibration app, runs Locust for a fixed time, stops everything
and compares the figures with ``perf/baseline.json``.

    python -m perf.run --duration 120 --users 30 --tolerance 0.25   # make perf
    python -m perf.run --duration 45 --tolerance 3 --min-requests 100 --attempts 3   # make perf-smoke
    python -m perf.run --write-baseline                             # record a new baseline
"""

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "perf" / "reports"
# The run measures the service as deployed, with every feature on; limits are raised so that
# one load generator on one IP measures the code rather than its own rate limit.
RUN_ENV = {
    "APP_ENV": "development",
    "LOG_FORMAT": "json",
    "LOG_LEVEL": "INFO",
    "DRAIN_SECONDS": "0",
    **{f"RATELIMIT_{name}": "1000000/minute" for name in (
        "ANONYMOUS", "FREE", "PREMIUM", "ADMIN", "SIGN_IN_IP", "SIGN_IN_ACCOUNT", "REGISTER_IP",
        "REGISTER_ACCOUNT", "ORDERS", "REPORTS")},
}


def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url, process, timeout=60):
    """Poll ``url`` until it answers; fail if ``process`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own 127.0.0.1 server
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{url} did not come up") from None
            time.sleep(0.3)


def stop(processes):
    """SIGTERM each process, then wait (SIGKILL after 30 s)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def prepare(env):
    """Migrate, seed, and give every product enough stock for the whole run."""
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for command in (["db", "upgrade"], ["seed"]):
        subprocess.run([*flask, *command], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)  # noqa: S603
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("UPDATE products SET stock = 1000000")


def run_locust(env, *, host, calibration_host, users, spawn_rate, duration, prefix):
    """Locust, headless, for ``duration`` seconds; CSV and HTML under ``prefix``."""
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "perf" / "locustfile.py"), "--headless",
               "--users", str(users), "--spawn-rate", str(spawn_rate), "--run-time", f"{duration}s",
               "--host", host, "--csv", str(prefix), "--html", f"{prefix}.html", "--only-summary",
               "--stop-timeout", "10",
               # Figures from when every user is running: the spawn (registrations, Argon2) is warm-up.
               "--reset-stats"]
    return subprocess.run(command, env={**env, "PERF_CALIBRATION_HOST": calibration_host}, cwd=ROOT,  # noqa: S603
                          check=False).returncode


def serve_and_load(env, args, report_dir):
    """Start web, worker and the bare app; run Locust; stop them; return the stats CSV path."""
    port, bare_port = free_port(), free_port()
    log = (report_dir / "service.log").open("ab")
    gunicorn = [sys.executable, "-m", "gunicorn"]
    web = subprocess.Popen([*gunicorn, "--config", "gunicorn.conf.py", "wsgi:app"],  # noqa: S603
                           env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}, cwd=ROOT, stdout=log, stderr=log)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "rq", "worker"],  # noqa: S603
                              env=env, cwd=ROOT, stdout=log, stderr=log)
    # Its own config file: without one gunicorn would read the store's gunicorn.conf.py from ROOT.
    bare = subprocess.Popen([*gunicorn, "--config", "perf/bare_gunicorn.conf.py", "--workers", "1",  # noqa: S603
                             "--bind", f"127.0.0.1:{bare_port}",
                             "--log-level", "warning", "perf.bare_app:app"], env=env, cwd=ROOT,
                            stdout=log, stderr=log)
    processes = [web, worker, bare]
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/health", web)
        wait_until_serving(f"http://127.0.0.1:{bare_port}/bare", bare)
        prefix = report_dir / "run"
        run_locust(env, host=f"http://127.0.0.1:{port}", calibration_host=f"http://127.0.0.1:{bare_port}",
                   users=args.users, spawn_rate=args.spawn_rate, duration=args.duration, prefix=prefix)
    finally:
        stop(processes)
        log.close()
    return Path(f"{prefix}_stats.csv")


def main(argv=None):
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=120, help="seconds of load")
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--tolerance", type=float, default=0.25)
    parser.add_argument("--min-requests", type=int, default=50,
                        help="endpoints with fewer requests are checked for failures only")
    parser.add_argument("--attempts", type=int, default=1,
                        help="runs before a slowdown counts (failed requests count at once)")
    parser.add_argument("--write-baseline", action="store_true")
    args = parser.parse_args(argv)

    from perf import check_regression
    from project.devservices import INSTANCE, embedded_services

    env = {**os.environ, **RUN_ENV}
    with embedded_services(env, postgres_dir=INSTANCE / "postgres-perf", valkey_dir=None, database="store_perf"):
        prepare(env)
        for attempt in range(1, args.attempts + 1):
            report_dir = REPORTS / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            report_dir.mkdir(parents=True, exist_ok=True)
            stats = serve_and_load(env, args, report_dir)
            print(f"reports: {report_dir} (run.html, run_stats.csv, service.log)")
            if args.write_baseline:
                return check_regression.main([str(stats), "--users", str(args.users), "--write-baseline"])
            figures, calibration = check_regression.normalise(check_regression.read_stats(stats))
            print(check_regression.table(figures, calibration))
            problems = check_regression.check(figures, check_regression.BASELINE, args.tolerance, args.users,
                                              args.min_requests)
            if not problems:
                return 0
            if any(kind == check_regression.FAILED for *_, kind in problems) or attempt == args.attempts:
                return 1
            # A shared machine stalls now and then: a slowdown counts only if every attempt shows it.
            print("slower than the baseline: measuring again to confirm", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
