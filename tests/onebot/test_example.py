"""examples/onebot_aiocqhttp.py runs end to end (an unmodified aiocqhttp bot via the emulator)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "onebot_aiocqhttp.py"


async def test_onebot_example_transcript() -> None:
    spec = importlib.util.spec_from_file_location("example_onebot_aiocqhttp", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert await module.main() == [
        "buddy -> 10002: you said: hello over OneBot",
        "group -> 200001: Bob said: hi everyone",
    ]
