"""Property-based fuzzing of the whole OpenAPI with schemathesis: `nox -s fuzz` runs
`python -m tests.security.fuzz` (see `__main__`)."""
