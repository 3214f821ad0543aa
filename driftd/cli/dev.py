"""`driftd dev services up|down|status`: a local Kafka and Redis for trying `driftd run`.

The same provisioner the test suite uses (driftd/dev/services.py): Kafka from its
Maven Central jars (needs Java 17+ and Maven), Redis from ``redis-server``, both on
loopback, both left running in the background until ``down``. What is running is
recorded in ``DIR/services.json`` (default ``.driftd-dev``) so ``down`` finds it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path

from driftd.cli.progress import err

STATE_FILE = "services.json"


def _state_path(args: argparse.Namespace) -> Path:
    return Path(args.dir) / STATE_FILE


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cmd_up(args: argparse.Namespace) -> int:
    from driftd.dev.services import LocalKafka, LocalRedis

    state_path = _state_path(args)
    if state_path.exists():
        running = json.loads(state_path.read_text())
        if any(_alive(s["pid"]) for s in running.values()):
            err.print(f"already up (see {state_path}); `driftd dev services down` first")
            return 1
    base = Path(args.dir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    err.print("starting Kafka (the first time, Maven fetches its jars: a minute or two)...")
    kafka = LocalKafka(base / "kafka", port=args.kafka_port, fast_start=False).start()
    redis = LocalRedis(base / "redis", port=args.redis_port).start()
    assert kafka.process is not None and redis.process is not None
    state = {
        "kafka": {"pid": kafka.process.pid, "address": kafka.bootstrap, "dir": str(kafka.dir)},
        "redis": {"pid": redis.process.pid, "address": redis.url, "dir": str(redis.dir)},
    }
    state_path.write_text(json.dumps(state, indent=2))
    print(f"kafka: {kafka.bootstrap}\nredis: {redis.url}\n")
    print("In your config:\n"
          f'  kafka: {{bootstrap_servers: "{kafka.bootstrap}"}}\n'
          f'  redis: {{url: "{redis.url}"}}\n'
          "then: driftd topics create --config FILE && driftd run --config FILE\n"
          "Stop with: driftd dev services down")  # fmt: skip
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    state_path = _state_path(args)
    if not state_path.exists():
        err.print(f"nothing to stop: no {state_path}")
        return 1
    state = json.loads(state_path.read_text())
    for name, service in state.items():
        pid = service["pid"]
        if _alive(pid):
            os.killpg(pid, signal.SIGTERM)  # its own session: the JVM and anything it started
            deadline = time.monotonic() + 60
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        print(f"{name}: stopped")
    state_path.unlink()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    state_path = _state_path(args)
    if not state_path.exists():
        print("down")
        return 1
    state = json.loads(state_path.read_text())
    up = True
    for name, service in state.items():
        alive = _alive(service["pid"])
        up = up and alive
        print(f"{name}: {'up' if alive else 'not running'} at {service['address']}")
    return 0 if up else 1
