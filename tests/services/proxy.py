"""A TCP proxy on loopback that injects network faults between a client and a server.

The chaos scenario puts one in front of Redis and one in front of Kafka (the broker
advertises the proxy's port, so every connection goes through it) and then:

- ``latency = 2.0``: every chunk waits that long before it is forwarded (each way);
- ``cut(seconds)``: closes every open connection and refuses new ones for a while
  (accepted and closed at once, as a dropped route looks to a client).

Threads, not asyncio: a handful of connections, and blocking sockets keep it short.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from services.local import free_port


class FaultProxy:
    def __init__(self, target_port: int, port: int | None = None):
        self.target = ("127.0.0.1", target_port)
        self.port = port or free_port()
        self.latency = 0.0
        self.refuse_until = 0.0
        self.cuts = 0
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="fault-proxy").start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cut(self, seconds: float) -> None:
        """Drop every connection now and refuse new ones for ``seconds``."""
        self.refuse_until = time.monotonic() + seconds
        self.cuts += 1
        self._drop_all()

    def _drop_all(self) -> None:
        with self._lock:
            for sock in list(self._sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self._drop_all()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if time.monotonic() < self.refuse_until:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:  # the server is down (restarting): the client sees a reset
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(1 << 16)
                if not data:
                    break
                if self.latency:
                    time.sleep(self.latency)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
                with self._lock:
                    self._sockets.discard(sock)
