"""The benchmark harness behind `nox -s bench`: the API and its ceilings, side by side.

Run from the repository root: `python -m bench [--quick] [--database-url URL]`. See
`bench/README.md` for what is measured and how to read the results.
"""
