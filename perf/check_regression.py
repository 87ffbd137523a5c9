"""Compare a Locust run with ``perf/baseline.json``; exit 1 on a regression or any failed request.

Absolute times drift on a shared machine, so every figure is normalised by the
calibration endpoint of the same run (a bare Flask app, ``perf/bare_app.py``):
each percentile is divided by the calibration's own (a stall of the machine
lands in both tails alike), throughput by its requests per second. A
regression is a normalised p95 above the baseline's by more than the
tolerance, or a normalised throughput below it by more than the tolerance.

    python perf/check_regression.py perf/reports/run_stats.csv --tolerance 0.25
    python perf/check_regression.py perf/reports/run_stats.csv --write-baseline   # record a new baseline
"""

import argparse
import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

BASELINE = Path(__file__).resolve().parent / "baseline.json"
CALIBRATION = "calibration"
# Endpoints with fewer requests than this in a run have percentiles too coarse to compare.
MIN_REQUESTS = 50
FAILED, SLOWER = "failed", "slower"  # kinds of problem: failures are certain, slowness may be the machine


def read_stats(path):
    """``{name: figures}`` from Locust's ``*_stats.csv`` (the Aggregated row left out)."""
    stats = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                continue
            stats[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "mean_ms": float(row["Average Response Time"]),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "p99_ms": float(row["99%"]),
                "rps": float(row["Requests/s"]),
            }
    return stats


def normalise(stats):
    """Each endpoint's figures, plus p50/p95/p99 and throughput relative to the calibration endpoint."""
    calibration = stats.get(CALIBRATION)
    if not calibration or not calibration["requests"] or not calibration["mean_ms"]:
        raise SystemExit(f"no '{CALIBRATION}' requests in this run: nothing to normalise by")
    figures = {}
    for name, row in stats.items():
        if name == CALIBRATION:
            continue
        # Each percentile by the calibration's own: a stall of the machine lands in both tails alike.
        figures[name] = {**row, **{f"{p}_norm": round(row[f"{p}_ms"] / max(calibration[f"{p}_ms"], 1.0), 3)
                                   for p in ("p50", "p95", "p99")},
                         "rps_norm": round(row["rps"] / calibration["rps"], 4) if calibration["rps"] else 0.0}
    return figures, calibration


def compare(figures, baseline, tolerance, users=None, min_requests=MIN_REQUESTS):
    """Problems found: ``[(endpoint, what)]``; empty when the run is as good as the baseline.

    With think times the offered load grows with the number of simulated users, so a
    run with another ``users`` than the baseline's is held to a proportional throughput.
    """
    scale = users / baseline["users"] if users and baseline.get("users") else 1.0
    problems = [(name, f"{row['failures']} failed requests", FAILED)
                for name, row in figures.items() if row["failures"]]
    for name, base in baseline["endpoints"].items():
        row = figures.get(name)
        if row is None:
            problems.append((name, "not measured in this run", FAILED))
            continue
        if min(row["requests"], base["requests"]) < min_requests:
            continue
        if row["p95_norm"] > base["p95_norm"] * (1 + tolerance):
            problems.append((name, f"p95 {row['p95_norm']:.2f}x calibration, baseline {base['p95_norm']:.2f}x",
                             SLOWER))
        expected = base["rps_norm"] * scale
        if row["rps_norm"] < expected * (1 - min(tolerance, 0.9)):
            problems.append((name, f"throughput {row['rps_norm']:.3f}x calibration, expected {expected:.3f}x",
                             SLOWER))
    return problems


def table(figures, calibration):
    """A readable summary of the run."""
    lines = [f"calibration: mean {calibration['mean_ms']:.2f} ms, {calibration['rps']:.1f} req/s",
             f"{'endpoint':32} {'requests':>8} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6} {'req/s':>7}"
             f" {'p95/cal':>8}"]
    for name, row in sorted(figures.items()):
        lines.append(f"{name:32} {row['requests']:>8} {row['failures']:>5} {row['p50_ms']:>6.0f} {row['p95_ms']:>6.0f}"
                     f" {row['p99_ms']:>6.0f} {row['rps']:>7.2f} {row['p95_norm']:>8.2f}")
    return "\n".join(lines)


def main(argv=None):
    """Command line: check a run, or record it as the baseline."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stats", type=Path, help="Locust's <prefix>_stats.csv")
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    parser.add_argument("--tolerance", type=float, default=0.25, help="allowed regression, 0.25 = 25%%")
    parser.add_argument("--write-baseline", action="store_true", help="record this run as the baseline")
    parser.add_argument("--min-requests", type=int, default=MIN_REQUESTS,
                        help="compare latency and throughput only for endpoints with this many requests")
    parser.add_argument("--users", type=int, help="simulated users of this run (throughput scales with them)")
    args = parser.parse_args(argv)

    figures, calibration = normalise(read_stats(args.stats))
    print(table(figures, calibration))
    if args.write_baseline:
        failed = [name for name, row in figures.items() if row["failures"]]
        if failed:
            raise SystemExit(f"not a baseline: failed requests on {', '.join(failed)}")
        args.baseline.write_text(json.dumps({
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "users": args.users, "calibration": calibration, "endpoints": figures}, indent=2, sort_keys=True) + "\n")
        print(f"baseline written to {args.baseline}")
        return 0
    problems = check(figures, args.baseline, args.tolerance, args.users, args.min_requests)
    return 1 if problems else 0


def check(figures, baseline_path, tolerance, users=None, min_requests=MIN_REQUESTS):
    """Compare normalised figures with the baseline file; print and return the problems."""
    if not baseline_path.exists():
        raise SystemExit(f"no baseline at {baseline_path}: record one with --write-baseline")
    problems = compare(figures, json.loads(baseline_path.read_text()), tolerance, users, min_requests)
    for name, what, _kind in problems:
        print(f"REGRESSION {name}: {what}")
    print("no regression" if not problems else f"{len(problems)} problem(s), tolerance {tolerance:.0%}")
    return problems


if __name__ == "__main__":
    sys.exit(main())
