"""The users feature: routes, schemas and SQL."""
