"""driftd: keeps machine-learning models honest in production."""

__version__ = "0.8.0"
