"""Helpers for the cluster chaos tests: CLI subprocesses and a poll journal.

Gateways and workers run as ``python -m smartqq gateway|worker`` subprocesses
(the commands an operator runs), so they can be SIGKILLed and SIGSTOPped; the
emulator runs in the test process and records every poll2 request.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from smartqq.cluster.config import LEASES_BUCKET
from smartqq.emulator import Emulator

HERE = Path(__file__).resolve().parent
FAST = ["--lease-ttl", "3", "--ack-wait", "4", "--partitions", "4"]
"""Short lease and ack times so takeovers and redeliveries happen within a test."""


class JournalEmulator(Emulator):
    """An emulator that counts poll2 requests in flight (never more than one holder)."""

    def __init__(self, **config: Any) -> None:
        self.in_flight = 0
        self.max_in_flight = 0
        self.poll_log: list[tuple[float, float]] = []
        super().__init__(**config)

    def _build_app(self) -> web.Application:
        app = super()._build_app()

        @web.middleware
        async def journal(request: web.Request, handler: Any) -> web.StreamResponse:
            if not request.path.endswith("/poll2"):
                return await handler(request)
            start = time.monotonic()
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                return await handler(request)
            finally:
                self.in_flight -= 1
                self.poll_log.append((start, time.monotonic()))

        app.middlewares.append(journal)
        return app


class Proc:
    """A ``python -m smartqq …`` subprocess with its output in a file."""

    def __init__(self, name: str, argv: list[str], logdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log = logdir / f"{name}.log"
        path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
        full_env = {**os.environ, "PYTHONPATH": path, **env}
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "smartqq", *argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=full_env,
            )

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    async def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not exit; log:\n{self.output()}")
            await asyncio.sleep(0.05)
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGKILL)
        self.proc.wait()


def gateway(name: str, nats_url: str, base_url: str, logdir: Path) -> Proc:
    argv = ["gateway", "--nats", nats_url, "--base-url", base_url, "--name", name]
    return Proc(name, [*argv, "--send-interval", "0", *FAST], logdir, {})


def worker(name: str, nats_url: str, logdir: Path, delay: float = 0.0) -> Proc:
    argv = ["worker", "--nats", nats_url, "--app", "echo_app:handlers", "--concurrency", "4"]
    env = {"ECHO_DELAY": str(delay), "ECHO_LOG": str(logdir / "handled.log")}
    return Proc(name, [*argv, *FAST], logdir, env)


async def holder(js: Any, qq: int) -> str | None:
    """The name of the gateway holding ``qq`` (None while nobody does)."""
    from nats.js.errors import KeyNotFoundError

    kv = await js.key_value(LEASES_BUCKET)
    try:
        entry = await kv.get(str(qq))
    except KeyNotFoundError:
        return None
    return entry.value.decode() if entry.value else None


async def wait_until(check: Callable[[], Any], timeout: float, what: str) -> float:
    """Wait until ``check()`` is truthy (it may be async); returns the seconds waited."""
    start = time.monotonic()
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.05)


def handled_log(logdir: Path) -> list[dict[str, Any]]:
    path = logdir / "handled.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
