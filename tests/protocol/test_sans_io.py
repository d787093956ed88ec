"""The sans-IO layers must not import aiohttp or asyncio (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_protocol_layers_import_no_io() -> None:
    code = (
        "import sys, json\n"
        "import smartqq.protocol, smartqq.content, smartqq.models, smartqq.events, smartqq.errors\n"
        "import smartqq.legacy.tqq.codec, smartqq.legacy.tqq.commands, smartqq.legacy.tqq.events\n"
        "import smartqq.legacy.oicq.codec, smartqq.legacy.oicq.messages\n"
        "print(json.dumps(sorted(m for m in ('aiohttp', 'asyncio') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
