"""Real Kafka and Redis servers on loopback ports, without Docker.

Apache Kafka in KRaft mode (single node, broker and controller in one JVM) from its
Maven Central jars (Java 17+ and Maven needed; fetched once, cached under
``~/.cache/driftd``), and ``redis-server`` from the system's packages. The test
tooling's fixtures start them (tests/services), and so does `driftd dev services up`
for trying the service path by hand (driftd/cli/dev.py).

Both can be stopped and started again on the same port and data directory,
which is how the tests restart a broker or Redis in the middle of a stream.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
KAFKA_VERSION = "4.1.1"
CACHE = Path(os.environ.get("DRIFTD_CACHE", Path.home() / ".cache" / "driftd"))

LOG4J2 = """\
Configuration:
  name: driftd-test-kafka
  Appenders:
    File:
      name: file
      fileName: "{log}"
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: file
    Logger:
      - name: kafka.server.KafkaServer
        level: INFO
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def kafka_jars() -> Path:
    """The broker's classpath directory, fetched with Maven on first use."""
    libs = CACHE / f"kafka-{KAFKA_VERSION}" / "libs"
    if not (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").exists():
        tmp = libs.with_name("libs.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(HERE / "kafka-pom.xml"),
                f"-Dkafka.version={KAFKA_VERSION}",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={tmp}",
            ],
            check=True,
        )
        tmp.rename(libs)
    return libs


class _Server:
    """A child process on a fixed loopback port that can be stopped and started again."""

    port: int
    process: subprocess.Popen | None = None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _spawn(self, log: Path, timeout: float, env: dict[str, str] | None = None) -> None:
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                self._command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        wait_for_port(self.port, timeout, self.process)

    def stop(self, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


class LocalKafka(_Server):
    def __init__(
        self,
        workdir: Path | None = None,
        port: int | None = None,
        fast_start: bool = True,
        advertised_port: int | None = None,
    ):
        """fast_start: C1-only JIT, which starts the broker ~2x faster (tests) but
        serves slower than the full JIT (benchmarks pass False). advertised_port: the
        port clients are told to use (a fault proxy's), if not the broker's own."""
        self.fast_start = fast_start
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="driftd-kafka-"))
        self.port = port or free_port()
        self.advertised_port = advertised_port or self.port
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.advertised_port}"
        self._formatted = False

    def _properties(self) -> Path:
        path = self.dir / "server.properties"
        path.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers=127.0.0.1:{self.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
                    f"CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.advertised_port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={self.dir / 'data'}",
                    "num.partitions=1",
                    "auto.create.topics.enable=false",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=4",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "log.flush.interval.messages=1000000",
                ]
            )
            + "\n"
        )
        return path

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            "java",
            "-Xms256m",
            "-Xmx768m",
            "-XX:+UseG1GC",
            *(["-XX:TieredStopAtLevel=1"] if self.fast_start else []),
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.dir / 'log4j2.yaml'}",
            "-cp",
            str(kafka_jars() / "*"),
            main,
            *args,
        ]

    def _command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.dir / "server.properties"))

    def start(self, timeout: float = 90) -> LocalKafka:
        self.dir.mkdir(parents=True, exist_ok=True)
        log = self.dir / "kafka.log"
        (self.dir / "log4j2.yaml").write_text(LOG4J2.format(log=self.dir / "kafka-server.log"))
        props = self._properties()
        if not self._formatted:
            cluster = "-"
            while cluster.startswith("-"):  # "-t -x..." reads as an option (1 in 64), as
                # Kafka's own Uuid.randomUuid() knows: it never starts an id with "-"
                cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            done = subprocess.run(
                self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster,
                    "-c",
                    str(props),
                    "--standalone",
                ),
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise RuntimeError(f"kafka storage format failed ({done.returncode}): "
                                   f"{(done.stderr or done.stdout)[-2000:]}")  # fmt: skip
            self._formatted = True
        self._spawn(log, timeout)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        """The port opens before the broker serves metadata; wait for a real answer."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        deadline = time.monotonic() + timeout
        while True:
            try:
                metadata = admin.list_topics(timeout=5)
                if metadata.brokers:
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class LocalRedis(_Server):
    def __init__(
        self, workdir: Path | None = None, port: int | None = None, password: str | None = None
    ):
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="driftd-redis-"))
        self.port = port or free_port()
        self.password = password
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def _command(self) -> list[str]:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        return [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.dir),
            # State must survive a restart: append-only file, fsync every second.
            "--appendonly",
            "yes",
            "--save",
            "",
            "--protected-mode",
            "yes",
            *(["--requirepass", self.password] if self.password else []),
        ]

    def start(self, timeout: float = 30) -> LocalRedis:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._spawn(self.dir / "redis.log", timeout)
        return self

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
