"""The legacy package never imports the emulator (the OICQ server lives under it now)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import importlib, pkgutil, sys
import smartqq.legacy
for info in pkgutil.walk_packages(smartqq.legacy.__path__, "smartqq.legacy."):
    importlib.import_module(info.name)
print(",".join(sorted(m for m in sys.modules if m.startswith("smartqq.emulator"))))
"""


def test_legacy_never_imports_the_emulator() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_the_oicq_server_is_offered_by_the_emulator_only() -> None:
    import pytest

    import smartqq.legacy.oicq as oicq
    from smartqq.emulator import OICQServer

    assert OICQServer.__module__ == "smartqq.emulator.oicq_server"
    with pytest.raises(AttributeError, match=r"smartqq\.emulator import OICQServer"):
        _ = oicq.OICQServer
