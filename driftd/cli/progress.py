"""Messages and progress bars on stderr for people at a terminal.

stderr, so ``--json`` output on stdout stays machine-readable; rich disables the
live display when stderr is not a terminal. With ``--log-format json`` every stderr
line must be JSON: messages become log records and progress bars are off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from driftd.logs import json_mode

log = logging.getLogger("driftd.cli")


class Stderr:
    """``print`` for people: rich text on a terminal, a JSON log record in JSON mode."""

    def __init__(self) -> None:
        self.console = Console(stderr=True)

    def print(self, text: Any, *args: Any, level: int = logging.WARNING, **kwargs: Any) -> None:
        if json_mode():
            log.log(level, Text.from_markup(str(text)).plain)
        else:
            self.console.print(text, *args, **kwargs)


err = Stderr()


def progress_bar(quiet: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err.console,
        disable=quiet or json_mode(),
        transient=False,
    )


@contextmanager
def run_stages(quiet: bool = False) -> Iterator[Callable[[str], Callable[[str, int, int], None]]]:
    """Yields ``for_model(model)``: a stage reporter drawing one bar per retraining run."""
    with progress_bar(quiet) as progress:

        def for_model(model: str) -> Callable[[str, int, int], None]:
            task = progress.add_task(f"retrain {model}", total=None)

            def report(stage: str, done: int, total: int) -> None:
                progress.update(
                    task, description=f"retrain {model}: {stage}", completed=done, total=total
                )

            return report

        yield for_model
