"""A fixed-capacity ring buffer: the memory bound behind every count window."""

from __future__ import annotations

from typing import Any

import numpy as np


class RingBuffer:
    """The last ``capacity`` values (or rows of ``width`` values), oldest first on read.

    Appends are O(1); ``values()`` copies out in arrival order for the evaluation
    tick. Snapshots are plain lists, so they survive JSON and never need pickle.
    """

    def __init__(self, capacity: int, dtype: Any = np.float64, width: int | None = None):
        shape = (capacity,) if width is None else (capacity, width)
        self._data = np.full(shape, np.nan) if dtype == np.float64 else np.zeros(shape, dtype)
        self._capacity = capacity
        self._next = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def capacity(self) -> int:
        return self._capacity

    def append(self, value: Any) -> None:
        self._data[self._next] = value
        self._next = (self._next + 1) % self._capacity
        if self._size < self._capacity:
            self._size += 1

    def extend(self, values: np.ndarray) -> None:
        """Append many values at once (the same result as appending them one by one)."""
        n = len(values)
        if n == 0:
            return
        if n >= self._capacity:
            self._data[:] = values[-self._capacity :]
            self._next = 0
            self._size = self._capacity
            return
        first = min(n, self._capacity - self._next)
        self._data[self._next : self._next + first] = values[:first]
        self._data[: n - first] = values[first:]
        self._next = (self._next + n) % self._capacity
        self._size = min(self._size + n, self._capacity)

    def values(self) -> np.ndarray:
        if self._size < self._capacity:
            return self._data[: self._size].copy()
        return np.concatenate([self._data[self._next :], self._data[: self._next]])

    def clear(self) -> None:
        self._next = 0
        self._size = 0

    def snapshot(self) -> list[Any]:
        values = self.values()
        if values.dtype == np.float64:
            # JSON has no NaN; None stands for a missing value.
            return np.where(np.isnan(values), None, values).tolist()
        return values.tolist()

    def restore(self, values: list[Any] | np.ndarray) -> None:
        self.clear()
        if len(values) == 0:
            return
        if self._data.dtype == np.float64:
            array = np.array(values, dtype=np.float64)  # None (a missing value) -> NaN
        else:
            array = np.asarray(values, dtype=self._data.dtype)
        array = array[-self._capacity :]
        self._data[: len(array)] = array
        self._size = len(array)
        self._next = self._size % self._capacity
