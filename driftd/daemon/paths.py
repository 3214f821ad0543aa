"""Where a process keeps its files: the state directory and what lives in it.

``runtime.state_dir`` (relative to the config file) holds the embedded store, the
dead letters, the alert log, the outbox and, by default, the model registry.
"""

from __future__ import annotations

from pathlib import Path

from driftd.config import Config

STORE_FILE = "driftd.sqlite"
DEAD_LETTER_FILE = "dead-letters.jsonl"
ALERT_FILE = "alerts.jsonl"
OUTBOX_FILE = "outbox.sqlite"
# What `--fresh` removes: one run's state, never the registry's models.
RUN_FILES = (
    STORE_FILE, f"{STORE_FILE}-wal", f"{STORE_FILE}-shm", DEAD_LETTER_FILE, ALERT_FILE,
    OUTBOX_FILE, f"{OUTBOX_FILE}-wal", f"{OUTBOX_FILE}-shm",
)  # fmt: skip


def state_dir(config: Config) -> Path:
    path = Path(config.runtime.state_dir)
    return path if path.is_absolute() else Path(config.base_dir) / path


def registry_dir(config: Config) -> Path:
    path = Path(config.runtime.registry_dir)
    return path if path.is_absolute() else state_dir(config) / path
