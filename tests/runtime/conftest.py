"""Fixtures of the runtime tests live in harness.py (importable by name)."""

from runtime.harness import daemons, make_setup  # noqa: F401
