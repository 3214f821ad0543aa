"""Retraining requests, per-model leases and fencing tokens in Redis: workers on many hosts.

With the directory queue (request_queue.py) every worker must see one filesystem, and an
``flock`` lasts as long as its process: fine on one machine. With Redis (``--service``):

- a request is a list of reasons per model (``<ns>:retrain:requests:<model>``) and the
  model's name in a set of pending models; a run *takes* the reasons into its lease's
  in-flight list and *acks* them when it is over, so a worker killed mid-run loses
  nothing: the next holder of the lease finds the in-flight reasons and runs them;
- the lock is a lease: ``SET key value NX PX ttl``, renewed by a thread every ttl/3
  while the run goes (only while the value is still ours), released only if ours;
- each lease carries a fencing token, ``INCR``-ed per model, so a later lease always has
  a larger one. The holder claims its token in the registry when the lease starts and
  promotes with it; the registry refuses a token smaller than one it has seen. A worker
  paused past its lease (SIGSTOP, a long GC, a VM migration) and woken after another
  took over cannot promote: its token is older.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from driftd.retrain.request_queue import Lease, RequestQueue

log = logging.getLogger("driftd.retrain")

# Renew or delete only a lease that is still ours (its value), atomically.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"  # noqa: E501
# Move a model's requests into its in-flight list and return that list, atomically.
_TAKE = """
local items = redis.call('lrange', KEYS[1], 0, -1)
for i = 1, #items do redis.call('rpush', KEYS[2], items[i]) end
redis.call('del', KEYS[1])
redis.call('srem', KEYS[3], ARGV[1])
redis.call('sadd', KEYS[4], ARGV[1])
return redis.call('lrange', KEYS[2], 0, -1)
"""
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"  # noqa: E501


class RedisRequestQueue:
    def __init__(self, client: Any, namespace: str = "driftd", lease_seconds: float = 30.0,
                 inbox: RequestQueue | None = None):  # fmt: skip
        """``inbox``: a directory queue whose requests (``driftd retrain`` without
        ``--service``, an older driftd) are moved in here, so none is stranded."""
        self.client = client
        self.inbox = inbox
        self.prefix = f"{namespace}:retrain"
        self.lease_ms = int(lease_seconds * 1000)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def _key(self, kind: str, model: str = "") -> str:
        return f"{self.prefix}:{kind}:{model}" if model else f"{self.prefix}:{kind}"

    def put(self, model: str, reason: str, at: float | None = None) -> None:
        entry = json.dumps({"reason": reason, "at": time.time() if at is None else at})
        with self.client.pipeline(transaction=True) as pipe:
            pipe.rpush(self._key("requests", model), entry)
            pipe.ltrim(self._key("requests", model), -20, -1)
            pipe.sadd(self._key("pending"), model)
            pipe.execute()

    def pending(self) -> list[str]:
        """Models with requests, and models whose last run did not ack (its worker died:
        the next lease holder runs them)."""
        if self.inbox is not None:
            for model in self.inbox.pending():
                for request in self.inbox.take(model):
                    self.put(model, request["reason"], request.get("at"))
        names = self.client.sunion(self._key("pending"), self._key("inflight-models"))
        return sorted(m.decode() if isinstance(m, bytes) else m for m in names)

    def take(self, model: str) -> list[dict]:
        """The model's requests, moved into the in-flight list (kept until :meth:`ack`);
        with what a dead holder left in flight first."""
        keys = [self._key("requests", model), self._key("inflight", model),
                self._key("pending"), self._key("inflight-models")]
        taken = self.client.eval(_TAKE, 4, *keys, model)  # one step: a crash loses nothing
        return [json.loads(r) for r in taken]

    def ack(self, model: str) -> None:
        """The run is over (whatever its outcome): its requests are done."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self._key("inflight", model))
            pipe.srem(self._key("inflight-models"), model)
            pipe.execute()

    @contextlib.contextmanager
    def lock(self, model: str, wait: bool = False, name: str = "run") -> Iterator[Lease | None]:
        """Yields a :class:`Lease` with its fencing token while this worker holds the
        model's lease, None if another does (``wait``: until it is free)."""
        key = self._key(f"lock.{name}", model)
        value = f"{self.holder}:{uuid.uuid4().hex}"  # this acquisition, and no other
        while not self.client.set(key, value, nx=True, px=self.lease_ms):
            if not wait:
                yield None
                return
            time.sleep(0.05)
        # Numbered after acquiring: leases are held one after another, so a later
        # holder always has a larger token than any earlier one.
        token = int(self.client.incr(self._key("fence", model)))
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.lease_ms / 3000):
                try:
                    if not self.client.eval(_RENEW, 1, key, value, self.lease_ms):
                        log.error("lost the retraining lease of %s (token %d): another "
                                  "worker may hold it now", model, token)  # fmt: skip
                        return
                except Exception as exc:  # Redis away: the lease may lapse; fencing guards
                    log.warning("cannot renew the retraining lease of %s: %s", model, exc)

        renewer = threading.Thread(target=renew, name=f"lease-{model}", daemon=True)
        renewer.start()
        try:
            yield Lease(token)
        finally:
            stop.set()
            renewer.join(5)
            with contextlib.suppress(Exception):
                self.client.eval(_RELEASE, 1, key, value)
