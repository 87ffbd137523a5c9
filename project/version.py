"""The service's version, reported in logs (and later in health details)."""

VERSION = "0.1.0"
