"""Measurements, not tests. Run each as a module from the repository root:
``.venv/bin/python -m benchmarks.<name> --help``."""
