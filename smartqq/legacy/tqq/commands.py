"""One request builder and one answer parser per tqq command (sans-IO).

Builders return a :class:`TQQRequest`; ``request.encode(uin, seq)`` gives the body.
Parsers take the :class:`~smartqq.legacy.tqq.codec.Answer` from ``decode_answer`` (which
has already raised for ``NULL`` and non-zero ``RES``) and return typed values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from smartqq.errors import ProtocolError, UsageError

from .codec import LC, SEND_LIMIT_BYTES, VERSION, Answer, encode_request
from .models import (
    AckCode,
    AddOutcome,
    AddResult,
    BloodType,
    Constellation,
    FingerEntry,
    FriendList,
    Gender,
    LoginResult,
    OnlineFriend,
    OnlineList,
    RawMessage,
    Status,
    UserInfo,
    Zodiac,
)

__all__ = [
    "COMMANDS",
    "TQQRequest",
    "ack_add_to_list",
    "add_to_list",
    "change_stat",
    "cltmsg",
    "del_from_list",
    "finger",
    "get_info",
    "get_msg_ex",
    "list_friends",
    "login",
    "logout",
    "parse_add",
    "parse_finger",
    "parse_info",
    "parse_list",
    "parse_login",
    "parse_messages",
    "parse_query_stat",
    "password_md5",
    "query_stat",
]

COMMANDS = (
    "Login",
    "List",
    "Query_Stat",
    "GetInfo",
    "AddToList",
    "Ack_AddToList",
    "DelFromList",
    "Change_Stat",
    "GetMsgEx",
    "CLTMSG",
    "Finger",
    "Logout",
)
_SECRET_FIELDS = frozenset({"PS"})


@dataclass(frozen=True, slots=True)
class TQQRequest:
    cmd: str
    fields: Mapping[str, object] = field(default_factory=dict)

    def encode(self, uin: int, seq: int | str, ver: str = VERSION) -> str:
        return encode_request(self.cmd, uin, seq, self.fields, ver)

    def __repr__(self) -> str:
        shown = {k: ("***" if k in _SECRET_FIELDS else v) for k, v in self.fields.items()}
        return f"TQQRequest({self.cmd!r}, {shown!r})"


def password_md5(password: str) -> str:
    """The ``PS`` value: the lowercase hex MD5 of the UTF-8 password."""
    return hashlib.md5(password.encode()).hexdigest()


def _uin(uin: int, what: str = "uin") -> int:
    if isinstance(uin, bool) or not isinstance(uin, int) or uin <= 0:
        raise UsageError(f"{what} must be a positive int, not {uin!r}")
    return uin


def login(ps: str, m5: int = 1, lc: str = LC) -> TQQRequest:
    """Login with ``ps`` = :func:`password_md5` of the password."""
    if not ps:
        raise UsageError("Login needs the password's md5 (PS)")
    return TQQRequest("Login", {"PS": ps, "M5": m5, "LC": lc})


def list_friends(tn: int = 160, un: int = 0) -> TQQRequest:
    """List. ``TN=0`` asks for the count only."""
    return TQQRequest("List", {"TN": tn, "UN": un})


def query_stat(tn: int = 50, un: int = 0) -> TQQRequest:
    """Query_Stat (online friends). ``TN=0`` asks for the count only."""
    return TQQRequest("Query_Stat", {"TN": tn, "UN": un})


def get_info(uin: int, level: int = 2) -> TQQRequest:
    """GetInfo at ``LV`` 0/1 (nick), 2 (profile) or 3+ (everything)."""
    if level < 0:
        raise UsageError("level must be >= 0")
    return TQQRequest("GetInfo", {"LV": level, "UN": _uin(uin)})


def add_to_list(uin: int) -> TQQRequest:
    return TQQRequest("AddToList", {"UN": _uin(uin)})


def ack_add_to_list(uin: int, code: AckCode, reason: str = "") -> TQQRequest:
    return TQQRequest("Ack_AddToList", {"UN": _uin(uin), "CD": int(code), "RS": reason})


def del_from_list(uin: int) -> TQQRequest:
    return TQQRequest("DelFromList", {"UN": _uin(uin)})


def change_stat(status: Status) -> TQQRequest:
    return TQQRequest("Change_Stat", {"ST": int(Status(status))})


def get_msg_ex() -> TQQRequest:
    return TQQRequest("GetMsgEx")


def cltmsg(uin: int, text: str) -> TQQRequest:
    """One CLTMSG; ``text`` must be 1 to 399 UTF-8 bytes (split longer text first)."""
    size = len(text.encode())
    if not 0 < size <= SEND_LIMIT_BYTES:
        raise UsageError(f"a CLTMSG body must be 1..{SEND_LIMIT_BYTES} bytes, not {size}")
    return TQQRequest("CLTMSG", {"UN": _uin(uin), "MG": text})


def finger(age: int | None = None, sex: int | None = None, province: str = "") -> TQQRequest:
    """Finger: search users by age, sex (0 male, 1 female) and province; ``None`` or an
    empty province matches anyone (sent as an empty value, as in the seed)."""
    return TQQRequest(
        "Finger",
        {"AG": "" if age is None else age, "SX": "" if sex is None else int(sex), "PV": province},
    )


def logout() -> TQQRequest:
    return TQQRequest("Logout")


# -- answers ---------------------------------------------------------------------------


def parse_login(a: Answer) -> LoginResult:
    return LoginResult(heartbeat_interval=a.number("HI", 60), idle_timeout=a.number("LI", 300))


def parse_list(a: Answer) -> FriendList:
    if "SN" not in a.fields:  # TN=0: FN is the friend count
        return FriendList(count=a.number("FN"))
    return FriendList(count=a.number("SN"), uins=a.numbers("UN"))


def _status(code: int, cmd: str) -> Status:
    try:
        return Status(code)
    except ValueError:
        raise ProtocolError(f"{cmd}: unknown status code", str(code)) from None


def parse_query_stat(a: Answer) -> OnlineList:
    if "SN" not in a.fields:  # TN=0: FN is the online count
        return OnlineList(count=a.number("FN"))
    uins, states, faces, nicks = a.numbers("UN"), a.numbers("ST"), a.numbers("FC"), a.items("NK")
    if not len(uins) == len(states) == len(faces) == len(nicks):
        raise ProtocolError("QUERY_STAT: UN, ST, FC and NK differ in length", str(a.fields)[:80])
    friends = [
        OnlineFriend(uin, _status(st, a.cmd), fc, nk)
        for uin, st, fc, nk in zip(uins, states, faces, nicks, strict=True)
    ]
    return OnlineList(count=a.number("SN"), friends=friends)


_INFO_TEXT = {
    "AD": "address",
    "EM": "email",
    "HP": "homepage",
    "JB": "job",
    "PC": "postcode",
    "PH": "phone",
    "PR": "intro",
    "PV": "province",
    "RN": "real_name",
    "SC": "school",
    "CT": "city",
    "CY": "country",
    "MO": "mobile",
}
_INFO_INT = {"AG": "age", "FC": "face"}
_INFO_ENUM: dict[str, tuple[str, type[Gender | BloodType | Constellation | Zodiac]]] = {
    "SX": ("gender", Gender),
    "BT": ("blood_type", BloodType),
    "CO": ("constellation", Constellation),
    "SH": ("zodiac", Zodiac),
}


def parse_info(a: Answer) -> UserInfo:
    values: dict[str, object] = {}
    extra: dict[str, str] = {}
    for key in a.fields:
        if key in ("UN", "NK", "LV"):
            continue
        if key in _INFO_TEXT:
            values[_INFO_TEXT[key]] = a.text(key)
        elif key in _INFO_INT:
            values[_INFO_INT[key]] = a.number(key)
        elif key in _INFO_ENUM:
            name, enum = _INFO_ENUM[key]
            code = a.number(key, -1)
            try:
                values[name] = enum(code) if code >= 0 else None
            except ValueError:
                extra[key] = a.text(key)  # a code the tables do not know: keep it raw
        else:
            extra[key] = a.text(key)
    return UserInfo(
        uin=a.number("UN"),
        nick=a.text("NK"),
        level=a.number("LV"),
        extra=extra,
        **values,  # type: ignore[arg-type]
    )


def parse_add(a: Answer) -> AddResult:
    code = a.number("CD")
    outcome = AddOutcome.REFUSED if code in (2, 3) else AddOutcome(code) if code in (0, 1) else None
    if outcome is None:
        raise ProtocolError("AddToList: unknown CD", str(code))
    return AddResult(uin=a.number("UN"), outcome=outcome, code=code)


def parse_finger(a: Answer) -> list[FingerEntry]:
    uins, nicks, faces, ages = a.numbers("UN"), a.items("NK"), a.numbers("FC"), a.numbers("AG")
    sexes, provinces = a.numbers("SX"), a.items("PV")
    if not len(uins) == len(nicks) == len(faces) == len(ages) == len(sexes) == len(provinces):
        raise ProtocolError("FINGER: the lists differ in length", str(a.fields)[:80])
    return [
        FingerEntry(uin, nk, fc, ag, Gender(sx) if sx in (0, 1) else None, pv)
        for uin, nk, fc, ag, sx, pv in zip(uins, nicks, faces, ages, sexes, provinces, strict=True)
    ]


def parse_messages(a: Answer) -> list[RawMessage]:
    """GetMsgEx's items. ``MN`` is the count; longer lists are cut to it (seed 001's
    399-byte example carries ``MN=1`` with ``MT=9,9,``)."""
    count = a.number("MN")
    types, senders, texts = a.numbers("MT"), a.numbers("UN"), a.items("MG")
    if min(len(types), len(senders), len(texts)) < count:
        raise ProtocolError("GETMSGEX: fewer items than MN", str(a.fields)[:80])
    return [RawMessage(types[i], senders[i], texts[i]) for i in range(count)]
