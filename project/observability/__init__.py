"""Logging, errors, health and metrics: how the service shows what it does."""
