"""The serving process's collector setting (``smartqq emulator``; issue 17)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from smartqq.emulator.gcpolicy import SERVING_THRESHOLD, tune_for_serving


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


@pytest.mark.usefixtures("thresholds")
def test_it_raises_only_the_young_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    assert tune_for_serving() == (SERVING_THRESHOLD, 10, 10)
    assert gc.isenabled()


@pytest.mark.usefixtures("thresholds")
def test_it_never_lowers_a_higher_setting() -> None:
    gc.set_threshold(SERVING_THRESHOLD * 2, 5, 7)
    assert tune_for_serving() == (SERVING_THRESHOLD * 2, 5, 7)


def test_the_emulator_command_applies_it_and_an_embedded_emulator_does_not() -> None:
    import inspect

    from smartqq.cli import emulator_cmd
    from smartqq.emulator import server

    assert "tune_for_serving()" in inspect.getsource(emulator_cmd._serve)
    assert "gcpolicy" not in inspect.getsource(server)
