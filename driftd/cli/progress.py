"""Progress bars on stderr for the long terminal commands (replay, demo, retraining).

stderr, so ``--json`` output on stdout stays machine-readable; rich disables the
live display when stderr is not a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

err = Console(stderr=True)


def progress_bar(quiet: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
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
