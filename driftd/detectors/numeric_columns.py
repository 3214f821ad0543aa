"""A model's numeric features updated as one block: a batch is a (values x features) matrix.

Per feature and batch the window test keeps the values and their reference ranks, and
the shift and scale CUSUMs (:mod:`.shift`, :mod:`.scale`) take each value's normal
score. Done feature by feature that is ~30 numpy calls on ~64 values each, so the
calls' own overhead, not the arithmetic, was most of a batch's cost (BENCHMARKS.md,
issue 17). Here the scores and both CUSUMs run once on the whole matrix; only the
reference searches and the rings stay per feature.

The result is the same as :meth:`NumericDrift.update_many` fed feature by feature,
bit for bit: a value that is not finite steps a CUSUM by 0, and ``max(0, S + 0) = S``,
so the cumulative sums, running minima and paths at the finite values are the very
floats the per-feature scan computes on the finite values alone. A feature whose
CUSUM alarms in the batch (both restart after an alarm: rare) is scanned again on
its own, from its state before the batch, by the per-feature code.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from driftd.detectors import stats
from driftd.detectors.base import PredictionBatch
from driftd.detectors.column_tests import NumericDrift, WindowStatistics
from driftd.detectors.cusum import BLOCK


def scan_columns(steps: np.ndarray, start: np.ndarray) -> np.ndarray:
    """:func:`driftd.detectors.cusum.scan` down each column of ``steps`` (each from its
    own start): the same cumulative sum and running minimum, per column."""
    running = np.cumsum(steps, axis=0)
    return running - np.minimum(np.minimum.accumulate(running, axis=0), -start)


class NumericColumns:
    """The numeric features' window tests of one model, updated a batch at a time."""

    def __init__(self, features: list[str], tests: list[NumericDrift]):
        self.features = features
        self.tests = tests
        self._n = np.array([float(t.reference.n) for t in tests])
        self._index = {id(test): index for index, test in enumerate(tests)}
        # The window statistics of the last tick, and the tests' generations they are of.
        self._found: list[tuple[int, WindowStatistics | None]] = []
        self._generations: tuple[int, ...] = ()
        self.together = 0  # windows the last tick compared as rows of one matrix
        # The batch last applied: every feature's detector asks, the first one updates
        # (held, so its id cannot be reused by a later batch).
        self._applied: PredictionBatch | None = None

    def update(self, batch: PredictionBatch) -> None:
        """Apply the batch to every test, once however many detectors ask."""
        if batch is self._applied:
            return
        self._applied = batch
        columns = batch.feature_columns
        self.update_matrix(np.column_stack([columns[name][1] for name in self.features]))

    def update_matrix(self, matrix: np.ndarray) -> None:
        """A batch as a (values x features) matrix, NaN where a value is not finite."""
        if not len(matrix):
            return
        if len(matrix) > BLOCK:  # the CUSUMs scan in blocks: keep their boundaries
            for test, values in zip(self.tests, matrix.T, strict=True):
                test.update_many(values)
            return
        finite = np.isfinite(matrix)
        # Per value: twice its mid-rank among the reference (2 below + equal).
        doubled = np.zeros(matrix.shape)
        for index, test in enumerate(self.tests):
            values, is_finite = matrix[:, index], finite[:, index]
            every = bool(is_finite.all())
            below, equal = test.reference.ranks(values if every else values[is_finite])
            test.keep(values, is_finite, below)
            if every:
                doubled[:, index] = 2 * below + equal
            else:
                doubled[is_finite, index] = 2 * below + equal
        n = self._n
        z = special.ndtri(np.clip(doubled / (2.0 * n), 0.5 / n, 1 - 0.5 / n))
        self._cusums(z, finite)

    def _cusums(self, z: np.ndarray, finite: np.ndarray) -> None:
        tests = self.tests
        shifts = [t.shift for t in tests]
        scales = [t.scale for t in tests]
        allowance = np.array([s.allowance for s in shifts])
        up = scan_columns(np.where(finite, z - allowance, 0.0), np.array([s.up for s in shifts]))
        down = scan_columns(np.where(finite, -z - allowance, 0.0),
                            np.array([s.down for s in shifts]))  # fmt: skip
        squared = np.where(finite, z * z - np.array([s.reference for s in scales]), 0.0)
        spread = scan_columns(squared, np.array([s.score for s in scales]))
        shift_limit = np.array([s.threshold for s in shifts])
        scale_limit = np.array([s.threshold for s in scales])
        alarmed = (((up > shift_limit) | (down > shift_limit)).any(axis=0)
                   | (spread >= scale_limit).any(axis=0))  # fmt: skip
        seen = finite.sum(axis=0)
        for index, (shift, scale) in enumerate(zip(shifts, scales, strict=True)):
            if alarmed[index]:  # again on its own, from its state before the batch
                scores = z[finite[:, index], index]
                shift.update_scores(scores)
                scale.update_scores(scores)
                continue
            count = int(seen[index])
            shift.up, shift.down = float(up[-1, index]), float(down[-1, index])
            shift.note_quiet(count)
            scale.score = float(spread[-1, index])
            scale.note_quiet(count)

    # -- per tick ---------------------------------------------------------------------

    def statistics_of(self, test: NumericDrift) -> tuple[int, WindowStatistics | None]:
        """:meth:`NumericDrift.window_statistics` of one test, computed for every test at
        once the first time a tick asks (again only once a window has changed)."""
        generations = tuple(t.generation for t in self.tests)
        if generations != self._generations:
            self._found, self._generations = self._window_statistics(), generations
        return self._found[self._index[id(test)]]

    def _window_statistics(self) -> list[tuple[int, WindowStatistics | None]]:
        """Every window with enough finite values as a row of one matrix (each row as
        long as its window's finite values); windows below ``min_samples`` on their own."""
        tests = self.tests
        windows = [t.window() for t in tests]
        if len({len(values) for values, _ in windows}) != 1:  # not updated together
            return [t.window_statistics() for t in tests]
        values = np.stack([v for v, _ in windows])
        finite = np.isfinite(values)
        counts = finite.sum(axis=1)
        needed = max(2, tests[0].min_samples)
        rows = np.flatnonzero(counts >= needed)
        found: list[tuple[int, WindowStatistics | None]] = [
            (0, None) if counts[index] >= needed else t.window_statistics()
            for index, t in enumerate(tests)
        ]  # fmt: skip
        self.together = len(rows)
        if not len(rows):
            return found
        widths = counts[rows]
        ranks = np.stack([r for _, r in windows])[rows]
        keep = finite[rows]
        # What is not finite (NaN, rank -1) sorts past each row's width.
        current = np.sort(np.where(keep, values[rows], np.inf), axis=1)[:, : widths.max()]
        ranks = np.sort(np.where(keep, ranks, np.iinfo(ranks.dtype).max),
                        axis=1)[:, : widths.max()]  # fmt: skip
        chosen = [tests[i] for i in rows]
        psi, jensenshannon = _bin_distances(chosen, current, widths)
        ks, pvalues, wasserstein = stats.compare_rows([t.reference for t in chosen], current,
                                                      ranks, widths)  # fmt: skip
        for k, index in enumerate(rows):
            found[index] = (int(widths[k]), WindowStatistics(
                float(psi[k]), float(jensenshannon[k]), float(ks[k]), pvalues[k],
                float(wasserstein[k])))  # fmt: skip
        return found


def _bin_distances(tests: list[NumericDrift], current: np.ndarray,
                   widths: np.ndarray) -> tuple[list, list]:  # fmt: skip
    """PSI and Jensen-Shannon of each row (its first ``widths`` values) against its test's
    reference bins: as rows of one matrix where the tests have as many bins, else one at
    a time."""
    counts = [stats.bin_counts(row[:width], t.bins[0])
              for t, row, width in zip(tests, current, widths, strict=True)]  # fmt: skip
    if len({len(c) for c in counts}) == 1:
        window, reference = np.stack(counts), np.stack([t.bins[1] for t in tests])
        return (stats.psi_rows(reference, window).tolist(),
                stats.jensenshannon_rows(reference, window).tolist())  # fmt: skip
    pairs = [(t.bins[1], c) for t, c in zip(tests, counts, strict=True)]
    return [stats.psi(*p) for p in pairs], [stats.jensenshannon(*p) for p in pairs]
