from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, settings

from smartqq.emulator import Emulator

# The suite runs on shared 2-core machines: how long hypothesis takes to draw examples
# or run one says more about the neighbours than about the code. Time limits stay where
# a test sets its own.
settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("shared-machine")

# Our own fixtures for users' bot tests; the suite uses them too (tests/test_testing_plugin.py).
pytest_plugins = ["smartqq.testing"]


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(hold=1.0, qr_confirm_after=1) as emulator:
        yield emulator
