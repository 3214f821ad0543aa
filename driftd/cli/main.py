"""`driftd` command line: the parser of every command group, and the entry point.

Exit codes: 0 success, 1 nothing to show (no state yet) or a failure (one line on
stderr; the traceback with ``--log-level DEBUG``), 2 config error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os

from driftd.cli import alerts, dev, models, serve, stream
from driftd.cli.progress import err
from driftd.config import ConfigError
from driftd.credentials import redact
from driftd.logs import setup_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftd", description="driftd keeps machine-learning models honest in production."
    )
    parser.add_argument("--log-level", default=os.environ.get("DRIFTD_LOG_LEVEL", "WARNING"))
    parser.add_argument("--log-format", choices=["text", "json"],
                        default=os.environ.get("DRIFTD_LOG_FORMAT", "text"),
                        help="json: one object per line, for log pipelines")  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (stream, alerts, models, serve, dev):
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    try:
        return args.func(args)
    except ConfigError as exc:
        err.print(f"[red]config error:[/] {redact(exc)}")
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line for people; the traceback at --log-level DEBUG
        logging.getLogger("driftd.cli").debug("the command failed", exc_info=True)
        err.print(f"[red]error:[/] {type(exc).__name__}: {redact(exc)}", soft_wrap=True)
        return 1
