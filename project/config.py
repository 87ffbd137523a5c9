"""Settings: defaults, then ``instance/config.py``, then the environment.

Every setting is validated once, at start-up, and a bad one stops the process
with a message that names the variable. Nothing else in the project reads
``os.environ`` for application settings.
"""

import functools
import os
import subprocess
from pathlib import Path

from project.config_defaults import BOOLEANS, DEFAULTS, FALSE_WORDS, FLOATS, INTEGERS, TRUE_WORDS


def source_version(config):
    """The deployed commit: ``SOURCE_VERSION`` (Heroku), else ``git rev-parse HEAD``, else "unknown"."""
    if config.get("SOURCE_VERSION"):
        return str(config["SOURCE_VERSION"])
    return _git_commit()


@functools.cache
def _git_commit():
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=2,  # noqa: S607
                                cwd=Path(__file__).resolve().parent, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "unknown"


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names the variable."""


def parse_bool(name, value):
    """``value`` (a bool, or a word like ``yes``/``off`` from the environment) as a bool."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise ConfigError(f"{name} must be true or false (1/0, true/false, yes/no, on/off), got {value!r}")


def load_config(app, test_config=None):
    """Fill ``app.config`` from defaults, the instance folder and the environment.

    ``test_config`` (a mapping) replaces the instance file and the environment,
    so tests never depend on the developer's machine.
    """
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(_from_environment(os.environ))
    else:
        app.config.update(test_config)
    from project.config_validation import validate  # it reads this module's constants: imported when used

    validate(app.config)


def environment_settings(environ=os.environ):
    """Defaults overlaid with the environment, unvalidated: for gunicorn's config, which has no app."""
    settings = {**DEFAULTS, **_from_environment(environ)}
    settings["DRAIN_SECONDS"] = drain_seconds(settings)
    return settings


def drain_seconds(config):
    """``DRAIN_SECONDS``, or its default: 5 in production (time for load balancers to notice), else 0."""
    if config.get("DRAIN_SECONDS") is not None:
        return config["DRAIN_SECONDS"]
    return 5.0 if config["APP_ENV"] == "production" else 0.0


def _from_environment(environ):
    """Read every known setting that the environment defines, converted to its type."""
    values = {}
    for name in DEFAULTS:
        if name not in environ:
            continue
        raw = environ[name]
        try:
            if name in INTEGERS:
                values[name] = int(raw)
            elif name in FLOATS:
                values[name] = float(raw)
            elif name in BOOLEANS:
                values[name] = parse_bool(name, raw)
            else:
                values[name] = raw
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    return values
