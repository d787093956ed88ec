"""Typed values of the tqq protocol: codes decoded into enums, results as frozen dataclasses.

The code tables (status, blood type, constellation, zodiac, gender, the ``CD`` codes)
are the seeds'. Each enum carries the seed's Chinese label in ``label``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

__all__ = [
    "AckCode",
    "AddOutcome",
    "AddResult",
    "BloodType",
    "Constellation",
    "FingerEntry",
    "FriendList",
    "Gender",
    "LoginResult",
    "MessageType",
    "OnlineFriend",
    "OnlineList",
    "RawMessage",
    "Status",
    "UserInfo",
    "Zodiac",
]


class _Labelled(IntEnum):
    @property
    def label(self) -> str:
        return _LABELS.get(type(self).__name__, ())[self.value]


class Status(_Labelled):
    """``ST`` codes. Change_Stat accepts all four; others see INVISIBLE as OFFLINE."""

    ONLINE = 10
    OFFLINE = 20
    BUSY = 30
    INVISIBLE = 40

    @property
    def label(self) -> str:
        return {10: "上线", 20: "离线", 30: "忙碌", 40: "隐身"}[self.value]


class BloodType(_Labelled):
    UNKNOWN = 0
    A = 1
    B = 2
    O = 3  # noqa: E741 - the blood group's name
    AB = 4
    OTHER = 5


class Constellation(_Labelled):
    UNKNOWN = 0
    AQUARIUS = 1
    PISCES = 2
    ARIES = 3
    TAURUS = 4
    GEMINI = 5
    CANCER = 6
    LEO = 7
    VIRGO = 8
    LIBRA = 9
    SCORPIO = 10
    SAGITTARIUS = 11
    CAPRICORN = 12


class Zodiac(_Labelled):
    UNKNOWN = 0
    RAT = 1
    OX = 2
    TIGER = 3
    RABBIT = 4
    DRAGON = 5
    SNAKE = 6
    HORSE = 7
    GOAT = 8
    MONKEY = 9
    ROOSTER = 10
    DOG = 11
    PIG = 12


class Gender(_Labelled):
    MALE = 0
    FEMALE = 1


_LABELS: dict[str, tuple[str, ...]] = {
    "BloodType": ("", "A型", "B型", "O型", "AB型", "其他"),
    "Constellation": (
        "",
        "水瓶座",
        "双鱼座",
        "牡羊座",
        "金牛座",
        "双子座",
        "巨蟹座",
        "狮子座",
        "处女座",
        "天秤座",
        "天蝎座",
        "射手座",
        "摩羯座",
    ),
    "Zodiac": ("", "鼠", "牛", "虎", "兔", "龙", "蛇", "马", "羊", "猴", "鸡", "狗", "猪"),
    "Gender": ("男", "女"),
}


class AddOutcome(_Labelled):
    """AddToList's ``CD``. Seed 000 gives 3 for "nobody may add me", seed 001 gives 2;
    both decode to REFUSED (``AddResult.code`` keeps the number)."""

    ADDED = 0
    NEEDS_AUTH = 1
    REFUSED = 2

    @property
    def label(self) -> str:
        return ("已加为好友", "需要身份验证", "拒绝被加为好友")[self.value]


class AckCode(_Labelled):
    """Ack_AddToList's ``CD``: approve their request, reject it, or ask them to approve ours."""

    APPROVE = 0
    REJECT = 1
    REQUEST = 2

    @property
    def label(self) -> str:
        return ("通过验证", "拒绝加为好友", "请求加为好友")[self.value]


class MessageType(_Labelled):
    """GetMsgEx's ``MT``."""

    AUTH_REQUEST = 2
    AUTH_ACCEPTED = 3
    AUTH_REJECTED = 4
    TEXT = 9
    SYSTEM = 99

    @property
    def label(self) -> str:
        return {2: "请求信息", 3: "通过验证", 4: "拒绝被加好友", 9: "用户消息", 99: "系统消息"}[
            self.value
        ]


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A successful Login. ``HI=60&LI=300`` in the seeds: read here as the heartbeat
    interval and the idle time after which the server drops the login, in seconds."""

    heartbeat_interval: int
    idle_timeout: int


@dataclass(frozen=True, slots=True)
class FriendList:
    """List: ``count`` always; ``uins`` only when asked with a non-zero ``TN``."""

    count: int
    uins: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OnlineFriend:
    uin: int
    status: Status
    face: int
    nick: str

    @property
    def face_image(self) -> int:
        """The avatar's bitmap number (``FC // 3 + 1``: face 270 is ``91.bmp``)."""
        return self.face // 3 + 1


@dataclass(frozen=True, slots=True)
class OnlineList:
    """Query_Stat: ``count`` online friends; ``friends`` only with a non-zero ``TN``."""

    count: int
    friends: list[OnlineFriend] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UserInfo:
    """GetInfo. LV 0/1 fill ``uin`` and ``nick``; LV 2 adds the profile; LV 3 and up add
    blood type, constellation, city, country, mobile and zodiac. Fields the seeds call
    unknown (``CV``, ``ID``, ``MT``, ``MV``) and any others are kept in ``extra``."""

    uin: int
    nick: str
    level: int
    address: str = ""
    age: int = 0
    email: str = ""
    face: int = 0
    homepage: str = ""
    job: str = ""
    postcode: str = ""
    phone: str = ""
    intro: str = ""
    province: str = ""
    real_name: str = ""
    school: str = ""
    gender: Gender | None = None
    blood_type: BloodType | None = None
    constellation: Constellation | None = None
    city: str = ""
    country: str = ""
    mobile: str = ""
    zodiac: Zodiac | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AddResult:
    uin: int
    outcome: AddOutcome
    code: int
    """The raw ``CD`` (2 or 3 both mean REFUSED)."""


@dataclass(frozen=True, slots=True)
class FingerEntry:
    """One Finger (user search) hit. The seeds give the request only; the answer's
    form (parallel lists ``UN NK FC AG SX PV``) is this project's choice."""

    uin: int
    nick: str
    face: int
    age: int
    gender: Gender | None
    province: str


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One GetMsgEx item before reassembly: ``type`` is the MT code, ``text`` the MG."""

    type: int
    sender: int
    text: str
