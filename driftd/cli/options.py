"""Options shared by the commands, and the checks that turn bad values into one-line
usage errors (argparse prints them with the usage and exits 2), never tracebacks."""

from __future__ import annotations

import argparse
import logging
import math
import os

DEFAULT_CONFIG = "driftd.yaml"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def config_option(parser: argparse.ArgumentParser) -> None:
    """``--config``: ``$DRIFTD_CONFIG``, else ``./driftd.yaml``."""
    default = os.environ.get("DRIFTD_CONFIG", DEFAULT_CONFIG)
    parser.add_argument("--config", "-c", default=default, metavar="FILE",
                        help=f"the config file (default: $DRIFTD_CONFIG or ./{DEFAULT_CONFIG}; "
                             f"now {default})")  # fmt: skip


def service_option(parser: argparse.ArgumentParser) -> None:
    """``--service`` (old name ``--redis``): the service's state instead of the local one."""
    parser.add_argument("--service", "--redis", dest="service", action="store_true",
                        help="use the service's state (Redis store, Kafka topics) rather "
                             "than the local state directory")  # fmt: skip


def seconds_option(text: str) -> float:
    """A finite, non-negative number of seconds (argparse rejects "nan", "inf", -1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value < 0 or value > 366 * 86400:
        raise argparse.ArgumentTypeError(f"must be 0..{366 * 86400} seconds, got {text!r}")
    return value


def port_option(text: str) -> int:
    """A TCP port, 0 (any free one) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0..65535, got {value}")
    return value


def log_level_option(text: str) -> str:
    """A logging level name, any case (``debug`` is ``DEBUG``)."""
    level = text.upper()
    if level not in LOG_LEVELS or not isinstance(logging.getLevelName(level), int):
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(LOG_LEVELS)}")
    return level
