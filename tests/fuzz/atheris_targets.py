"""Coverage-guided fuzz targets (atheris, libFuzzer's engine) for the three ways in.

    python tests/fuzz/atheris_targets.py TARGET CORPUS_DIR -runs=N -max_total_time=S

TARGET is ``decoder`` (event bytes), ``config`` (YAML config files) or ``api`` (the HTTP
API's routes, in process: a path, a query or a JSON body). driftd's modules are
instrumented, so inputs that reach new branches are kept and mutated further. The
properties are the hypothesis suite's (test_fuzz.py): the decoder returns a typed event
or a dead letter with a known reason; the loader loads or raises ConfigError naming a
key; a route answers or raises one of the exceptions the server turns into a 4xx. Any
other exception is a finding: atheris stops, prints the input and exits non-zero.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["driftd"]):
    from driftd.config import load_config
    from driftd.daemon.builders import build_view
    from driftd.daemon.web.api import Actions
    from driftd.daemon.web.server import StatusServer
    from driftd.errors import ConfigError
    from driftd.events import DeadLetter, EventDecoder, Label, Prediction
    from driftd.retrain.registry import UnknownVersion

REASONS = {"oversized", "malformed_json", "invalid_schema", "invalid_timestamp",
           "unknown_model"}  # fmt: skip
WORK = Path(tempfile.mkdtemp(prefix="driftd-atheris-"))

SEEDS = {
    "decoder": [
        b'{"type":"prediction","event_id":"e1","model_id":"m1","timestamp":1.8e9,'
        b'"features":{"x":1.5,"c":"a"},"prediction":1,"score":0.7,"attributes":{"sex":"f"}}',
        b'{"type":"label","event_id":"e1","model_id":"m1","timestamp":"2027-01-01T00:00:00Z",'
        b'"label":1}',
    ],
    "config": [
        b"models:\n  m1:\n    task: binary\n    features: {x: numeric, c: categorical}\n"
        b"    sensitive_attributes: [sex]\n    drift: {window: 1000}\n"
        b"alerting:\n  receivers: {log: {type: console}}\n"
        b"  routes: [{name: r, receivers: [log]}]\n",
        b"runtime: {batch_size: 10, checkpoint_interval: 1s}\nkafka: {partitions: 3}\n",
    ],
    "api": [
        b'P/api/silences\n{"matchers": {"model": "m1"}, "duration": "1h", "comment": "x"}',
        b'P/api/models/m1/promote\n{"version": 1}',
        b"G/api/models/m1/history\nmetric=accuracy&limit=5",
    ],
}


def decoder_target() -> object:
    decoder = EventDecoder({"m1"}, 4096)

    def test(data: bytes) -> None:
        result = decoder.decode(data, "fuzz", 0)
        if isinstance(result, DeadLetter):
            assert result.reason in REASONS and result.detail, result
        else:
            assert isinstance(result, Prediction | Label) and result.model_id == "m1"
            assert math.isfinite(result.timestamp)

    return test


def config_target() -> object:
    path = WORK / "driftd.yaml"

    def test(data: bytes) -> None:
        path.write_bytes(data)
        try:
            load_config(path)
        except ConfigError as exc:
            assert str(exc) and (exc.path or exc.problem)

    return test


def api_target() -> object:
    config = WORK / "api.yaml"
    config.write_text(
        "models:\n  m1:\n    task: binary\n    features: {x: numeric}\n"
        f"runtime:\n  state_dir: {WORK / 'state'}\n"
        "alerting:\n  receivers: {log: {type: console}}\n  routes: [{name: r, receivers: [log]}]\n"
    )
    view = build_view(load_config(config), use_redis=False)
    server = StatusServer(view, "127.0.0.1", 0, "FUZZ_TOKEN", actions=Actions(view))
    from urllib.parse import parse_qs

    def test(data: bytes) -> None:
        head, _, rest = data.partition(b"\n")
        method, path = head[:1], head[1:].decode("utf-8", "replace")
        try:
            if method == b"P":
                body = json.loads(rest or b"{}")
                if isinstance(body, dict):
                    status, _ = server.post(path, body)
                    assert status < 500
            else:
                status, _ = server.get(path, parse_qs(rest.decode("utf-8", "replace")))
                assert status < 500
        except (ValueError, KeyError, TypeError, FileNotFoundError, UnknownVersion):
            pass  # answered 400 / 404 by the server, with the message

    return test


TARGETS = {"decoder": decoder_target, "config": config_target, "api": api_target}


def main() -> None:
    name, corpus = sys.argv[1], Path(sys.argv[2])
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(SEEDS[name]):
        (corpus / f"seed-{i}").write_bytes(seed)
    atheris.Setup([sys.argv[0], str(corpus), *sys.argv[3:]], TARGETS[name]())
    atheris.Fuzz()


if __name__ == "__main__":
    main()
