"""The state a completed login leaves behind, as a plain value."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .http import CookieJar
from .profiles import Profile, profile_by_name
from .redact import SECRET_NAMES

__all__ = ["SessionState"]


@dataclass(slots=True)
class SessionState:
    """Tokens of one logged-in session. ``repr`` never shows a token."""

    profile: Profile
    qq: int = 0
    uin: int = 0
    clientid: int = 53999199
    ptwebqq: str = ""
    vfwebqq: str = ""
    psessionid: str = ""
    nick: str = ""
    status: str = "online"
    cookies: CookieJar = field(default_factory=CookieJar)

    def secrets(self) -> list[str]:
        """Token and secret-cookie values (QQ numbers in ``uin`` cookies are not secrets)."""
        cookies = [c.value for c in self.cookies.cookies() if c.name.lower() in SECRET_NAMES]
        return [s for s in (self.ptwebqq, self.vfwebqq, self.psessionid, *cookies) if s]

    def copy(self) -> SessionState:
        return replace(self, cookies=self.cookies.copy())

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile.name,
            "qq": self.qq,
            "uin": self.uin,
            "clientid": self.clientid,
            "ptwebqq": self.ptwebqq,
            "vfwebqq": self.vfwebqq,
            "psessionid": self.psessionid,
            "nick": self.nick,
            "status": self.status,
            "cookies": self.cookies.to_list(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionState:
        return cls(
            profile=profile_by_name(str(data["profile"])),
            qq=int(data["qq"]),
            uin=int(data["uin"]),
            clientid=int(data["clientid"]),
            ptwebqq=str(data["ptwebqq"]),
            vfwebqq=str(data["vfwebqq"]),
            psessionid=str(data["psessionid"]),
            nick=str(data.get("nick", "")),
            status=str(data.get("status", "online")),
            cookies=CookieJar.from_list(data.get("cookies", [])),
        )

    def __repr__(self) -> str:
        return (
            f"SessionState(profile={self.profile.name!r}, qq={self.qq}, uin={self.uin}, "
            f"tokens=***, cookies={len(self.cookies)})"
        )
