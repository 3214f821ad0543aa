"""The `driftd` command line: one module per group of commands, parsed in :mod:`.main`."""

from driftd.cli.main import main

__all__ = ["main"]
