"""Bad arguments to any public call are UsageErrors (issue 13 item 2), not Python errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from smartqq import Client
from smartqq.errors import SmartQQError, UsageError

from .scripted import FRIEND, Scripted, scripted_client

BAD_IDS: list[Any] = [None, "2001", -1, 0, True, 2.5, float("inf"), float("nan"), 10**5000, 2**64]

CALLS: dict[str, Callable[[Client, Any], Awaitable[object]]] = {
    "send_buddy_msg": lambda c, v: c.send_buddy_msg(v, "x"),
    "send_qun_msg": lambda c, v: c.send_qun_msg(v, "x"),
    "send_discu_msg": lambda c, v: c.send_discu_msg(v, "x"),
    "send_sess_msg": lambda c, v: c.send_sess_msg(v, "x", group_id=1),
    "send_sess_msg group_id": lambda c, v: c.send_sess_msg(FRIEND, "x", group_id=v),
    "get_group_info": lambda c, v: c.get_group_info(v),
    "get_discu_info": lambda c, v: c.get_discu_info(v),
    "get_friend_info": lambda c, v: c.get_friend_info(v),
    "get_long_nick": lambda c, v: c.get_long_nick(v),
    "get_qq_number": lambda c, v: c.get_qq_number(v),
    "change_status": lambda c, v: c.change_status(v),
}


async def test_every_bad_id_to_every_call_is_a_usage_error(tmp_path: Path) -> None:
    service = Scripted()
    failures: list[str] = []
    async with scripted_client(service, tmp_path) as client:
        for name, call in CALLS.items():
            for value in BAD_IDS:
                try:
                    await call(client, value)
                except UsageError:
                    continue
                except BaseException as exc:
                    failures.append(f"{name}({value!r:.20}): {type(exc).__name__}")
                else:
                    failures.append(f"{name}({value!r:.20}): accepted")
    assert failures == []
    assert service.sent == []


@pytest.mark.parametrize(
    "options",
    [
        {"qq": "123", "password": "x"},
        {"qq": 10**30, "password": "x"},
        {"qq": 123, "password": b"x"},
        {"send_interval": float("nan")},
        {"send_interval": "fast"},
        {"poll_timeout": float("inf")},
        {"poll_timeout": 0},
        {"backoff_base": -1},
        {"backoff_cap": 0.1, "backoff_base": 1},
        {"event_buffer": 0},
        {"max_response_bytes": 1.5},
        {"dedup_window": None},
        {"max_pending": 0},
        {"max_pending": True},
        {"qr_poll_interval": float("-inf")},
    ],
)
def test_bad_client_options_are_usage_errors(options: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        Client(**options)


def test_good_options_still_build() -> None:
    client = Client(qq=123, password="x", send_interval=0, poll_timeout=1, max_response_bytes=1)
    assert isinstance(client, Client)
    assert issubclass(UsageError, SmartQQError)


@pytest.mark.parametrize(
    ("event_type", "buffer"), [(str, None), ("x", None), (None, 0), (None, "x")]
)
def test_bad_stream_arguments_are_usage_errors(event_type: Any, buffer: Any) -> None:
    with pytest.raises(UsageError):
        Client().events(event_type, buffer=buffer)
