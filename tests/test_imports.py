"""Every module imports; the import graph has no cycles; layers import only downward.

The graph is read from the source (``ast``), counting module-level imports and
those under ``if TYPE_CHECKING:`` (a cycle there still couples the modules),
but not imports inside functions, which are the deliberate lazy ones.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import smartqq

ROOT = Path(smartqq.__file__).parent
MODULES = sorted(info.name for info in pkgutil.walk_packages([str(ROOT)], prefix="smartqq."))


def _source(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin)


def _is_package(module: str) -> bool:
    return _source(module).name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> list[str]:
    if node.level:
        base = module if _is_package(module) else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    found = []
    for alias in node.names:
        candidate = f"{target}.{alias.name}"
        found.append(candidate if candidate in MODULE_SET else target)
    return found


def _top_level_imports(module: str) -> set[str]:
    tree = ast.parse(_source(module).read_text(encoding="utf-8"))
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                names.update(_resolve(module, node))
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)
                visit(node.orelse)
                if isinstance(node, ast.Try):
                    for handler in node.handlers:
                        visit(handler.body)

    visit(tree.body)
    return {n for n in names if n in MODULE_SET}


MODULE_SET = frozenset(MODULES)
GRAPH = {module: _top_level_imports(module) for module in MODULES}


@pytest.mark.parametrize("module", [m for m in MODULES if not m.endswith(".__main__")])
def test_every_module_imports(module: str) -> None:
    assert importlib.import_module(module).__name__ == module


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            # A package importing its own submodules is how packages re-export; the
            # submodule importing its parent package back is the cycle we look for.
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)
    return found


def test_no_import_cycles_type_checking_included() -> None:
    assert _cycles(GRAPH) == []
    # ...and the search finds one when there is one (the TYPE_CHECKING import that
    # contacts.py used to have back to client.py).
    graph = {m: set(edges) for m, edges in GRAPH.items()}
    graph["smartqq.client.contacts"].add("smartqq.client.client")
    assert any("smartqq.client.contacts" in cycle for cycle in _cycles(graph))


def test_the_graph_sees_imports() -> None:
    # The analysis is not vacuous: known edges are found.
    assert "smartqq.transport" in GRAPH["smartqq.client.session"]
    assert "smartqq.events" in GRAPH["smartqq.protocol.poll"]
    assert "smartqq.protocol.retcodes" in GRAPH["smartqq.protocol.parsers"]


def _reaches(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in GRAPH[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_legacy_never_imports_the_emulator_or_client_internals() -> None:
    legacy = [m for m in MODULES if m.startswith("smartqq.legacy")]
    assert legacy
    for module in legacy:
        direct = GRAPH[module]
        bad = {m for m in direct if m.startswith(("smartqq.emulator", "smartqq.client"))}
        assert not bad, f"{module} imports {sorted(bad)}"


def test_the_web_page_never_imports_the_emulator_server() -> None:
    # webui types the emulator by the EmulatorView protocol (webui/facade.py); the server
    # imports webui to mount it, and nothing in webui leads back, even under TYPE_CHECKING.
    webui = [m for m in MODULES if m.startswith("smartqq.emulator.webui")]
    assert "smartqq.emulator.webui.facade" in webui
    assert "smartqq.emulator.webui" in GRAPH["smartqq.emulator.server"]
    for module in webui:
        assert "smartqq.emulator.server" not in _reaches(module), module


def test_on_the_client_side_only_the_transport_imports_aiohttp() -> None:
    client_side = [
        m
        for m in MODULES
        if m.startswith(("smartqq.client", "smartqq.transport", "smartqq.legacy.tqq"))
        or m in ("smartqq.events", "smartqq.models", "smartqq.content", "smartqq.errors")
    ]
    importers = set()
    for module in client_side:
        tree = ast.parse(_source(module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            if any(n == "aiohttp" or n.startswith("aiohttp.") for n in names):
                importers.add(module)
    assert importers == {"smartqq.transport._aiohttp"}


def test_the_protocol_layer_reaches_no_io_module() -> None:
    for module in [m for m in MODULES if m.startswith("smartqq.protocol")]:
        reached = _reaches(module)
        assert not {m for m in reached if m.startswith(("smartqq.client", "smartqq.transport"))}
