"""docs/architecture.md names real code: every module path and ``Class.method`` it
mentions exists, so the walk of one poll answer cannot drift from the code unnoticed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "smartqq"
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
TOKENS = re.findall(r"`([^`\n]+)`", ARCHITECTURE)
SOURCES = {path: path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py")}


def _defines(cls: str, member: str) -> bool:
    for text in SOURCES.values():
        match = re.search(rf"^class {cls}\b.*?(?=^class |\Z)", text, re.M | re.S)
        if match and re.search(rf"^\s+(?:async def|def) {member}\b|^\s+{member}:", match[0], re.M):
            return True
    return False


@pytest.mark.parametrize("path", sorted({t for t in TOKENS if t.endswith(".py")}))
def test_every_module_named_exists(path: str) -> None:
    if "/" in path:  # relative to the package (or, for smartqq/..., to the repository)
        assert (PACKAGE / path).is_file() or (ROOT / path).is_file(), path
    else:  # a bare name in a row that already named its folder
        assert any(p.name == path for p in SOURCES), path


@pytest.mark.parametrize(
    "name", sorted({t for t in TOKENS if re.fullmatch(r"[A-Z]\w*\.[a-z_]\w*", t)})
)
def test_every_method_named_exists(name: str) -> None:
    cls, member = name.split(".")
    assert _defines(cls, member), name


def test_the_walk_names_modules_and_methods() -> None:
    # The checks above must have something to check.
    walk = ARCHITECTURE.split("## One poll answer")[1].split("## Modules over 500")[0]
    assert len(re.findall(r"`[\w/]+\.py`", walk)) >= 20
    assert len(re.findall(r"`[A-Z]\w*\.[a-z_]\w*`", walk)) >= 20
