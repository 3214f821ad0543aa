"""`driftd` command line: the parser of every command group, and the entry point.

Exit codes: 0 success, 1 nothing to show (no state yet) or a failure (one line on
stderr; the traceback with ``--log-level DEBUG``), 2 usage or config error, 130
interrupted. The grammar is in :mod:`.parser`; each command's code in its module.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
from collections.abc import Callable

from rich.markup import escape

from driftd.cli.parser import build_parser
from driftd.cli.progress import err
from driftd.config import ConfigError
from driftd.credentials import redact
from driftd.logs import setup_logging


def handler(name: str) -> Callable[[argparse.Namespace], int]:
    """``"stream:cmd_replay"`` -> the function; only the chosen command's module loads."""
    module, function = name.split(":")
    return getattr(importlib.import_module(f"driftd.cli.{module}"), function)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    try:
        return handler(args.func)(args)
    except ConfigError as exc:
        message = escape(f"{redact(exc)}{_config_hint(args)}")
        err.print(f"[red]config error:[/] {message}", level=logging.ERROR, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line for people; the traceback at --log-level DEBUG
        logging.getLogger("driftd.cli").debug("the command failed", exc_info=True)
        err.print(f"[red]error:[/] {escape(f'{type(exc).__name__}: {redact(exc)}')}",
                  soft_wrap=True,
                  level=logging.ERROR)  # fmt: skip
        return 1


def _config_hint(args: argparse.Namespace) -> str:
    """Where the config was looked for, when it is not there."""
    path = getattr(args, "file", None) or getattr(args, "config", None)
    if path is None or os.path.exists(path):
        return ""
    return f" (looked for {os.path.abspath(path)}; pass --config FILE or set DRIFTD_CONFIG)"
