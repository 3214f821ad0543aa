"""driftd: keeps machine-learning models honest in production."""

__version__ = "0.9.0"
