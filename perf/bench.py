"""The cost of production readiness: the store's cached product read against bare Flask.

Both run under gunicorn with the same number of sync workers (no keep-alive in
either), on 127.0.0.1; the store with its production ``gunicorn.conf.py``, the
bare app with gunicorn's defaults (``bare_gunicorn.conf.py``), at the same time;
``wrk`` loads them in interleaved rounds (bare, store, bare, store, ...) so that
whatever else the shared machine is doing falls on both alike, and the medians
of the rounds are compared. The store runs with every feature on: JSON access
and application logs, request IDs, metrics in multiprocess mode, the IP block
check, rate limiting at the production limits and the cache. The load comes from
5,000 client addresses behind one trusted proxy hop (``clients.lua``), so each
client stays under its limit; ``--one-client`` sends it from one address with the
limits raised instead. ``--floor`` adds ``floor_app.py``: bare Flask plus the
store's one Redis round trip, under the store's ``gunicorn.conf.py``. Each round
also records the CPU time a request of the app's processes, Valkey and wrk.

    python -m perf.bench --rounds 8 --seconds 5 --floor     # make bench
"""

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil

from perf.run import REPORTS, RUN_ENV, free_port, stop, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
CLIENTS_SCRIPT = ROOT / "perf" / "clients.lua"
# Every feature on with the production limits, behind one proxy (as on Heroku or behind an
# ingress): wrk sends each request from the next of 5,000 client addresses (``clients.lua``),
# so that each client stays under its limit (60 a minute) and is measured rather than refused.
STORE_ENV = {key: value for key, value in RUN_ENV.items() if not key.startswith("RATELIMIT_")} | {
    "TRUSTED_PROXY_HOPS": "1"}
# ``--one-client``: everything from one address, with the limits raised as in ``make perf``.
ONE_CLIENT_ENV = RUN_ENV
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def cpu_seconds(process):
    """CPU seconds of a gunicorn master and its workers, recycled workers included (the master reaps them)."""
    try:
        master = psutil.Process(process.pid)
        total = sum(master.cpu_times()[:4])  # user, system, and of reaped children
        for child in master.children(recursive=True):
            try:
                total += sum(child.cpu_times()[:2])
            except psutil.NoSuchProcess:
                pass
    except psutil.NoSuchProcess:
        return 0.0
    return total


def valkey_seconds():
    """CPU seconds of every Valkey server on this machine (the store's embedded one during a bench)."""
    total = 0.0
    for proc in psutil.process_iter(["name"]):
        if (proc.info["name"] or "").startswith(("valkey", "redis")):
            try:
                total += sum(proc.cpu_times()[:2])
            except psutil.NoSuchProcess:
                pass
    return total


def wrk_seconds():
    """CPU seconds of this process's reaped children (wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(url, process, *, seconds, connections, script):
    """One round of ``wrk``: (requests/s, p99 ms, non-2xx, CPU us a request of the app, Valkey, wrk)."""
    before = cpu_seconds(process), valkey_seconds(), wrk_seconds()
    rps, p99, errors = wrk(url, seconds=seconds, connections=connections, script=script)
    after = cpu_seconds(process), valkey_seconds(), wrk_seconds()
    requests = max(rps * seconds, 1)
    return (rps, p99, errors, *(1e6 * (b - a) / requests for a, b in zip(before, after, strict=True)))


def wrk(url, *, seconds, connections, script=None, threads=1):
    """``(requests per second, p99 ms, non-2xx count)`` of one wrk round (``script``: a wrk Lua script)."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=True)  # noqa: S603
    if result.stderr.strip():  # wrk reports a broken script and runs on without it
        raise SystemExit(f"wrk: {result.stderr.strip()}")
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
    parser.add_argument("--one-client", action="store_true",
                        help="every request from one address, with the limits raised (as make perf)")
    parser.add_argument("--floor", action="store_true",
                        help="also measure perf/floor_app.py (bare Flask plus the one round trip) "
                             "under the store's gunicorn.conf.py")
    args = parser.parse_args(argv)

    from project.devservices import INSTANCE, embedded_services

    REPORTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **(ONE_CLIENT_ENV if args.one_client else STORE_ENV), "WEB_CONCURRENCY": str(args.workers)}
    script = None if args.one_client else CLIENTS_SCRIPT
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
        contenders = [("bare", f"http://127.0.0.1:{bare_port}/api/v1/products/1", bare),
                      ("store", f"http://127.0.0.1:{port}/api/v1/products/1", store)]
        if args.floor:
            floor_port = free_port()
            contenders.append(("floor", f"http://127.0.0.1:{floor_port}/api/v1/products/1", start(
                [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "perf.floor_app:app"],
                {**env, "GUNICORN_BIND": f"127.0.0.1:{floor_port}"}, log)))
        try:
            for _, url, process in contenders:
                wait_until_serving(url, process)
            with urllib.request.urlopen(contenders[1][1], timeout=5):  # noqa: S310 - fill the cache before measuring
                pass
            rounds = {name: [] for name, *_ in contenders}
            for _ in range(args.rounds):
                for name, url, process in contenders:
                    rounds[name].append(measured(url, process, seconds=args.seconds, connections=args.connections,
                                                  script=script))
        finally:
            stop([process for *_, process in contenders])
    print(report(rounds, args))
    return 0 if all(errors == 0 for figures in rounds.values() for *_, errors in figures) else 1


def report(rounds, args):
    """A Markdown table of the medians and the ratios."""
    medians = {name: [statistics.median(r[i] for r in figures) for i in range(6)] for name, figures in rounds.items()}
    for name, figures in rounds.items():
        medians[name][2] = sum(r[2] for r in figures)
    (bare_rps, bare_p99, _, *bare_cpu), (store_rps, store_p99, store_errors, *store_cpu) = \
        medians["bare"], medians["store"]
    return "\n".join([
        f"{args.rounds} interleaved rounds of {args.seconds} s, wrk -c{args.connections}, "
        f"gunicorn {args.workers} sync workers each, "
        + ("one client, limits raised" if args.one_client else "5,000 clients, production limits")
        + "; medians",
        "",
        "| app | requests/s | p99 ms | non-2xx | CPU us a request: gunicorn | Valkey | wrk |",
        "|---|---|---|---|---|---|---|",
        f"| bare Flask | {bare_rps:.0f} | {bare_p99:.2f} | {medians['bare'][2]} | "
        + " | ".join(f"{value:.0f}" for value in bare_cpu) + " |",
        f"| store, every feature on (cached product read) | {store_rps:.0f} | {store_p99:.2f} | {store_errors} | "
        + " | ".join(f"{value:.0f}" for value in store_cpu) + " |",
        f"| **ratio** | **{store_rps / bare_rps:.2f}x** throughput | **{store_p99 / bare_p99:.2f}x** p99 | | | | |",
        *floor_rows(medians),
    ])


def floor_rows(medians):
    """The floor's rows, when it was measured."""
    if "floor" not in medians:
        return []
    rps, p99, errors, *cpu = medians["floor"]
    return [f"| floor: bare Flask + the one round trip, store's gunicorn.conf.py | {rps:.0f} | {p99:.2f} | {errors} | "
            + " | ".join(f"{value:.0f}" for value in cpu) + " |",
            f"| floor vs bare | {rps / medians['bare'][0]:.2f}x | {p99 / medians['bare'][1]:.2f}x | | | | |"]


if __name__ == "__main__":
    sys.exit(main())
