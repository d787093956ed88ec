"""Plugins: packages whose modules each expose a module-level ``router``.

``load_plugins("mybot.plugins")`` imports the package and every module below
it (in name order, so loading is repeatable) and includes each module-level
:class:`Router` it finds, the package's own ``__init__`` first. Entry points in
the ``smartqq.plugins`` group name either a module (its ``router`` is taken) or
a ``Router`` object. A module that fails to import raises :class:`PluginError`
naming it, with the original error as the cause.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from collections.abc import Iterable
from types import ModuleType

from smartqq.errors import UsageError

from .router import Router

__all__ = ["ENTRY_POINT_GROUP", "PluginError", "load_plugins"]

ENTRY_POINT_GROUP = "smartqq.plugins"


class PluginError(UsageError):
    """A plugin could not be loaded; ``module`` names it."""

    def __init__(self, module: str, reason: str) -> None:
        super().__init__(f"plugin {module!r} failed to load: {reason}")
        self.module = module


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise PluginError(name, f"{type(exc).__name__}: {exc}") from exc


def _modules(package: str) -> Iterable[ModuleType]:
    root = _import(package)
    yield root
    path = getattr(root, "__path__", None)
    if path is None:
        return  # a plain module: its own router only
    found = sorted(info.name for info in pkgutil.walk_packages(path, package + ".", onerror=_raise))
    for name in found:
        yield _import(name)


def _raise(name: str) -> None:
    raise PluginError(name, "its package could not be imported")


def _router_of(module: ModuleType) -> Router | None:
    router = getattr(module, "router", None)
    if router is None:
        return None
    if not isinstance(router, Router):
        raise PluginError(
            module.__name__, f"its 'router' is a {type(router).__name__}, not a Router"
        )
    return router


def _within(router: Router, target: Router) -> bool:
    """Already below ``target`` (loaded before, or included by a parent plugin)."""
    node = router.parent
    while node is not None:
        if node is target:
            return True
        node = node.parent
    return False


def load_plugins(
    target: Router, packages: Iterable[str], entry_points: bool | None = None
) -> list[str]:
    """Include the plugins' routers into ``target``; return the names loaded."""
    packages = list(packages)
    loaded: list[str] = []
    for package in packages:
        for module in _modules(package):
            router = _router_of(module)
            if router is not None and not _within(router, target):
                target.include_router(router)
                loaded.append(module.__name__)
    if entry_points if entry_points is not None else not packages:
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                obj = entry_point.load()
            except Exception as exc:
                raise PluginError(entry_point.value, f"{type(exc).__name__}: {exc}") from exc
            router = obj if isinstance(obj, Router) else _router_of(obj)
            if router is None:
                raise PluginError(
                    entry_point.value, "neither a Router nor a module with a 'router'"
                )
            if not _within(router, target):
                target.include_router(router)
                loaded.append(entry_point.name)
    return loaded
