"""One contract for every engine and client the daemon can run with.

Each combination consumes the same kind of stream, is stopped in the middle and
started again, and must end with metrics equal to the batch recomputation.
"""

from __future__ import annotations

import time

import pytest
from runtime.harness import (
    Background,
    assert_equals_recomputation,
    consumed,
    final_readings,
    publish,
)
from runtime.stream import make_stream

pytestmark = [pytest.mark.kafka, pytest.mark.redis]

STOP_BOUND = 20.0  # seconds from SIGTERM to exit; nothing lost is the final comparison

ENGINES = [
    pytest.param("kafka", "confluent", id="default-confluent"),
    pytest.param("kafka", "kafka-python", id="default-kafka-python"),
    pytest.param("faust", "confluent", id="faust"),
]


@pytest.mark.parametrize(("engine", "client"), ENGINES)
def test_engine_contract_stop_restart_equals_recomputation(make_setup, daemons, engine, client):
    setup = make_setup(client=client)
    stream = make_stream(12_000, seed=11)
    producer = Background(publish, setup, stream, "kafka-python", 2000, 0.5)
    first = daemons(setup.config_path, "--engine", engine)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and consumed(setup) == 0:
        time.sleep(0.2)
    assert consumed(setup) > 0, first.log()[-3000:]
    stopping = time.monotonic()
    assert first.terminate() == 0, first.log()[-3000:]  # SIGTERM while the stream flows
    assert time.monotonic() - stopping < STOP_BOUND  # finish batch, checkpoint, leave
    producer.finish()
    second = daemons(setup.config_path, "--engine", engine)
    readings = final_readings(setup, stream, timeout=120)
    assert second.terminate() == 0, second.log()[-3000:]
    assert_equals_recomputation(setup, stream, readings)


def test_the_faust_engine_logs_json_when_asked(make_setup, tmp_path):
    """`--log-format json` holds for the faust engine too (Faust set up its own text
    logging over driftd's before): every line on stderr is a JSON object."""
    import json
    import signal
    import subprocess
    import sys

    from runtime.harness import ROOT

    setup = make_setup()
    log_path = tmp_path / "faust.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "driftd.cli", "--log-level", "INFO", "--log-format", "json",
             "run", "--config", str(setup.config_path), "--quiet", "--engine", "faust"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while "assigned partitions" not in log_path.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log_path.read_text()[-3000:]
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, log_path.read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    assert any("assigned partitions" in line for line in lines)
    for line in lines:
        assert isinstance(json.loads(line), dict), line
