"""Job functions for tests, importable by the real RQ worker subprocess (run from the project root)."""


def explode(message):
    """A job that always fails."""
    raise RuntimeError(message)
