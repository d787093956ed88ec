"""Every example runs against the embedded emulator, the notebook's code cells included."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from smartqq.table import Table

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_echo_bot(capsys: pytest.CaptureFixture[str]) -> None:
    await load("echo_bot").main()
    assert "bot replied: echo: hello, echo bot" in capsys.readouterr().out


async def test_group_logger_writes_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    assert await load("group_logger").main(path) == 3
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(r["group"], r["sender"], r["text"]) for r in records] == [
        ("Python Fans", "Alice", "good morning, pythonistas"),
        ("Python Fans", "Bobby", "has anyone tried 3.13? "),
        ("Python Fans", "Alice", "yes, the new REPL is lovely"),
    ]
    assert len({r["msg_id"] for r in records}) == 3


async def test_multi_account_two_clients_talk() -> None:
    transcript = await load("multi_account").main(rounds=2)
    assert transcript == [
        "Bob got   'ping 1' from Alice",
        "Alice got 'pong 1' from Bob",
        "Bob got   'ping 2' from Alice",
        "Alice got 'pong 2' from Bob",
    ]


async def run_cell(source: str, namespace: dict[str, Any]) -> Any:
    """Run one cell the way IPython does: top-level await, the last expression is the value."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    result = eval(compile(tree, "<cell>", "exec", flags=flags), namespace)
    if inspect.iscoroutine(result):
        await result
    if last is None:
        return None
    value = eval(compile(ast.Expression(last.value), "<cell>", "eval", flags=flags), namespace)
    return await value if inspect.iscoroutine(value) else value


async def test_quickstart_notebook_code_cells(capsys: pytest.CaptureFixture[str]) -> None:
    notebook = json.loads((EXAMPLES / "quickstart.ipynb").read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    namespace: dict[str, Any] = {"__name__": "__notebook__"}
    values = [await run_cell(cell, namespace) for cell in cells]
    url, client_repr, friends, groups, received, sent, _ = values
    assert url.startswith("http://127.0.0.1:")
    assert "logged_in=True" in repr(client_repr)
    if "IPython" not in sys.modules:
        assert "█" in capsys.readouterr().out  # the QR drawn in the terminal fallback
    assert isinstance(friends, Table)
    assert "<td>Ally</td>" in friends._repr_html_()
    assert isinstance(groups, Table)
    assert "Python Fans" in str(groups)
    assert received == [
        ("BuddyMessage", "Ally", "hello from the notebook"),
        ("GroupMessage", "Bobby", "notebooks are fun "),
    ]
    assert sent == [("buddy", "thanks, Ally!"), ("group", "thanks, Bobby!")]


async def test_tqq_bot_echoes_each_piece() -> None:
    seen = await load("tqq_bot").main()
    # 500 bytes go out as two CLTMSGs (under 400 bytes each), each a message of its own.
    assert seen == ["echo: hello, 2005", "got 399 bytes", "got 101 bytes"]


async def test_oicq_chat() -> None:
    from smartqq.legacy.oicq import messages as m

    came_online, message = await load("oicq_chat").main()
    assert came_online == m.FriendStatus(10003, 1)
    assert message == m.Incoming(2, 10002, "你好, Bob", 0)


PLUGIN_BOT = EXAMPLES / "plugin_bot"


async def test_plugin_bot_demo_session() -> None:
    sys.path.insert(0, str(PLUGIN_BOT))
    try:
        replies = await load("plugin_bot/main").demo()
    finally:
        sys.path.remove(str(PLUGIN_BOT))
        for name in [m for m in sys.modules if m == "mybot" or m.startswith("mybot.")]:
            del sys.modules[name]
    assert replies[:5] == [
        "🎲 1",
        "What's your name?",
        "Nice to meet you, Alice. How old are you?",
        "Registered Alice, 33.",
        "Alice, 33",
    ]
    assert replies[5].splitlines()[0] == "Commands:"
    assert "/register - tell me your name and age" in replies[5]
    assert replies[6:] == ["bye"]


def test_plugin_bot_tests_pass_as_a_project_of_their_own() -> None:
    # Its own pytest.ini: pytest-asyncio's default strict mode, warnings as errors.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(PLUGIN_BOT)],
        cwd=PLUGIN_BOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_examples_pass_mypy_strict() -> None:
    from mypy import api

    root = EXAMPLES.parent
    scripts = [str(p) for p in sorted(EXAMPLES.glob("*.py"))]
    out, err, status = api.run(
        ["--strict", "--no-incremental", "--config-file", str(root / "pyproject.toml"), *scripts]
    )
    assert status == 0, out + err
    bot = [str(PLUGIN_BOT / n) for n in ("main.py", "test_mybot.py", "conftest.py", "mybot")]
    env_path = os.pathsep.join([str(root), str(PLUGIN_BOT)])
    old = os.environ.get("MYPYPATH")
    os.environ["MYPYPATH"] = env_path
    try:
        out, err, status = api.run(
            ["--strict", "--no-incremental", "--config-file", str(root / "pyproject.toml"), *bot]
        )
    finally:
        if old is None:
            del os.environ["MYPYPATH"]
        else:
            os.environ["MYPYPATH"] = old
    assert status == 0, out + err
