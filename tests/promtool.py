"""Run Prometheus' ``promtool`` from tests.

``promtool`` comes from the Debian package ``prometheus``; ``make tools`` installs it (``make test``
does that first). A test that needs it fails, rather than skips, when it is missing: a check that
silently stops running is worse than none.
"""

import shutil
import subprocess

import pytest

INSTALL_HINT = "promtool is not installed: `make tools` installs it (Debian package `prometheus`)"


def promtool():
    """The path of ``promtool``; fails the calling test when there is none."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return path


def run(*args, stdin=None, timeout=60):
    """Run ``promtool *args`` (``stdin`` as text on its standard input); return (returncode, output)."""
    result = subprocess.run(  # noqa: S603 - a fixed binary, arguments from the tests
        [promtool(), *map(str, args)], input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    return result.returncode, result.stdout + result.stderr


def check_metrics(text):
    """``promtool check metrics`` on exposition-format ``text``: (returncode, output).

    0 is clean; 3 means lint problems (listed in the output, e.g. a counter without ``_total``);
    1 means the text does not parse.
    """
    return run("check", "metrics", stdin=text)


def check_config(path, *flags):
    """``promtool check config`` on a Prometheus config file (rule files resolved next to it)."""
    return run("check", "config", *flags, path)


def check_rules(*paths):
    """``promtool check rules`` on recording/alerting rule files."""
    return run("check", "rules", *paths)


def test_rules(*paths):
    """``promtool test rules`` on rule unit-test files."""
    return run("test", "rules", *paths)


test_rules.__test__ = False  # a helper, not a pytest test, despite its name
