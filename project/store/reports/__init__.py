"""The reports feature: routes, schemas and SQL."""
