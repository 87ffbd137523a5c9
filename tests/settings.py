"""Settings as ``load_config`` makes them, with no app and no server: for the unit tests of each concern."""

from flask import Config

from project.config import load_config

BASE = {"APP_ENV": "test", "DATABASE_URL": "postgresql://db/store", "REDIS_URL": "redis://cache:6379/0"}


class FakeApp:
    """Just enough of a Flask app for ``load_config`` (no instance file)."""

    def __init__(self):
        self.config = Config("/nonexistent")


def load_mapping(mapping):
    """The settings made of ``mapping`` (which stands in for the instance file and the environment)."""
    app = FakeApp()
    load_config(app, mapping)
    return app.config


def load_settings(**overrides):
    """The settings made of ``BASE`` with ``overrides``."""
    return load_mapping({**BASE, **overrides})
