"""Authentication, authorization and password hashing."""
