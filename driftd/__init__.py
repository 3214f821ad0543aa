"""driftd: keeps machine-learning models honest in production."""

__version__ = "0.7.0"
