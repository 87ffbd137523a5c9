"""The orders feature: routes, schemas and SQL."""
