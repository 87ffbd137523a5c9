"""The products feature: routes, schemas and SQL."""
