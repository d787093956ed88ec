from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from smartqq.emulator import Emulator

# Our own fixtures for users' bot tests; the suite uses them too (tests/test_testing_plugin.py).
pytest_plugins = ["smartqq.testing"]


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(hold=1.0, qr_confirm_after=1) as emulator:
        yield emulator
