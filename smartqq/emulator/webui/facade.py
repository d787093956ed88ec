"""What the web page needs from the emulator, as a protocol (so it never imports the server).

Design note: ``server.py`` imports the web page to mount it; the page is handed the
:class:`~smartqq.emulator.Emulator` at ``setup``. Typing the page against the narrow
:class:`EmulatorView` below instead of ``Emulator`` keeps the import graph pointing one
way (``server`` imports ``webui``, never the other way round, not even under
``TYPE_CHECKING``), and states in one place which of the emulator's members the page
relies on. ``mypy --strict`` checks that ``Emulator`` satisfies it where ``server.py``
passes itself to ``webui.setup``. The one member left out here, ``web_hub`` (where the
emulator keeps the page's state), is typed by ``HubHolder`` next to ``Hub`` in
:mod:`.hub`, so this module needs nothing else from the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from smartqq.emulator.faults import FaultSet
    from smartqq.emulator.service import SmartQQService
    from smartqq.emulator.state import Config
    from smartqq.emulator.users import WorldUser
    from smartqq.emulator.world import World

__all__ = ["EmulatorView"]


class EmulatorView(Protocol):
    """The emulator as the web page uses it (``Emulator`` has each member, with this type)."""

    world: World
    config: Config
    host: str
    faults: FaultSet
    service: SmartQQService
    """Read and written only by :mod:`.bridge`."""

    @property
    def url(self) -> str: ...

    def user(self, qq: int) -> WorldUser: ...

    def captcha_code(self, qq: int) -> str | None: ...

    def stats(self) -> dict[str, Any]: ...

    def on_sent(self, callback: Callable[[dict[str, Any]], None]) -> Callable[[], None]: ...

    def kick(self, qq: int) -> bool: ...

    def expire_sessions(self) -> None: ...

    async def restart(self, *, keep_logins: bool = True) -> None: ...
