"""Errors shared across driftd's modules."""

from __future__ import annotations


class ConfigError(ValueError):
    """A config problem, always phrased as ``key.path: what is wrong``."""

    def __init__(self, path: str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)
