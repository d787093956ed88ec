from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from smartqq.emulator import Emulator


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(hold=1.0, qr_confirm_after=1) as emulator:
        yield emulator
