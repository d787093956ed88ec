"""The decorators keep the decorated function's own type (checked by mypy --strict)."""

from __future__ import annotations

import re
from pathlib import Path

SNIPPET = """
from typing import Any, assert_type

from smartqq import Client, GroupMessage, MessageEvent, Router
from smartqq import filters as f

client = Client()
router = Router(name="fun")


@client.on()
async def echo(msg: MessageEvent) -> None:
    answer = await msg.ask("name?", timeout=5)
    assert_type(answer, MessageEvent)


@router.on(GroupMessage, f.text_contains("python") & ~f.from_self(), block=True)
def count(msg: GroupMessage) -> int:  # plain functions are handlers too
    return 1


@router.command("roll", description="roll a die", cooldown=3.0, aliases=["dice"])
async def roll(msg: MessageEvent, args: str) -> None: ...


@router.middleware
async def timing(handler: Any, event: Any, data: dict[str, Any]) -> Any:
    return await handler(event, data)


@client.on_startup
async def ready() -> None: ...


reveal_type(echo)
reveal_type(count)
reveal_type(roll)
reveal_type(ready)
assert_type(client.include_router(router), Router)
assert_type(client.load_plugins("x"), list[str])
"""


def test_decorators_keep_types_under_mypy_strict(tmp_path: Path) -> None:
    from mypy import api

    root = Path(__file__).resolve().parents[2]
    snippet = tmp_path / "bot_types.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    out, err, status = api.run(
        [
            "--strict",
            "--no-incremental",
            "--config-file",
            str(root / "pyproject.toml"),
            str(snippet),
        ]
    )
    assert status == 0, out + err
    revealed = [  # event classes by bare name, wherever the package defines them
        re.sub(r"smartqq\.[a-z_.]*\.(\w+)", r"\1", line.split("Revealed type is ", 1)[1])
        for line in out.splitlines()
        if "Revealed" in line
    ]
    assert revealed == [
        '"def (msg: MessageEvent) -> typing.Coroutine[Any, Any, None]"',
        '"def (msg: GroupMessage) -> int"',
        '"def (msg: MessageEvent, args: str) -> typing.Coroutine[Any, Any, None]"',
        '"def () -> typing.Coroutine[Any, Any, None]"',
    ]


def test_the_readme_bot_passes_mypy_strict(tmp_path: Path) -> None:
    from mypy import api

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running a bot", 1)[1].split("\n## ", 1)[0]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert "client.run()" in block
    script = tmp_path / "readme_bot.py"
    script.write_text(block, encoding="utf-8")
    out, err, status = api.run(
        ["--strict", "--no-incremental", "--config-file", str(root / "pyproject.toml"), str(script)]
    )
    assert status == 0, out + err
