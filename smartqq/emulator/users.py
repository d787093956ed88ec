"""Scripted traffic: act as any world account (``emu.user(qq)``)."""

from __future__ import annotations

from typing import Any

from .state import PendingEvent, State

__all__ = ["WorldUser"]


def _wire(text: str | list[Any]) -> list[Any]:
    return list(text) if isinstance(text, list) else [text]


class WorldUser:
    """A world account driven by a script. Methods return how many sessions received it."""

    def __init__(self, service: State, qq: int) -> None:
        self._svc = service
        self.qq = qq

    def send_buddy(self, to: int, text: str | list[Any], token: str | None = None) -> int:
        """A buddy message to ``to`` (a friend's QQ); ``text`` may be a content list with faces."""
        return self._svc.inject("buddy", self.qq, to, "", token, _wire(text))

    def send_group(self, group: int | str, text: str | list[Any], token: str | None = None) -> int:
        code = self._svc.world.find_group(group).code
        return self._svc.inject("group", self.qq, code, "", token, _wire(text))

    def send_discu(
        self, discussion: int | str, text: str | list[Any], token: str | None = None
    ) -> int:
        did = self._svc.world.find_discussion(discussion).id
        return self._svc.inject("discu", self.qq, did, "", token, _wire(text))

    def send_sess(self, to: int, text: str | list[Any], token: str | None = None) -> int:
        """A temporary-session message to ``to`` (a QQ sharing a group or discussion)."""
        return self._svc.inject("sess", self.qq, to, "", token, _wire(text))

    def set_status(self, status: str) -> None:
        self._svc.status_changed(self.qq, status)

    def add_friend(self, other: int) -> None:
        self._svc.world.befriend(self.qq, other)

    def remove_friend(self, other: int) -> None:
        self._svc.world.unfriend(self.qq, other)
        me = self.qq
        build = self._svc.mail.generic(
            "buddylist_change", lambda s: {"removed_friends": [{"uin": s.handle("qq", me)}]}
        )
        self._svc.push(other, PendingEvent("buddylist_change", build))
