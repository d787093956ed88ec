"""OneBotConfig validation and HOST:PORT parsing."""

from __future__ import annotations

import pytest

from smartqq.errors import UsageError
from smartqq.onebot import OneBotConfig, parse_hostport
from smartqq.onebot.params import ActionError, get_bool, get_int, get_str


def test_parse_hostport() -> None:
    assert parse_hostport("6700") == ("127.0.0.1", 6700)
    assert parse_hostport(":6700") == ("127.0.0.1", 6700)
    assert parse_hostport("0.0.0.0:5700") == ("0.0.0.0", 5700)
    assert parse_hostport("[::1]:5700") == ("::1", 5700)
    for bad in ("x:y", "1:99999", "host:"):
        with pytest.raises(UsageError):
            parse_hostport(bad)


@pytest.mark.parametrize(
    "options",
    [
        {"ws_reverse": ("http://x/",)},
        {"ws_reverse": ("not a url",)},
        {"post_urls": ("ws://x/",)},
        {"heartbeat_ms": -1},
        {"reconnect_interval_ms": 0},
        {"message_format": "xml"},
        {"discuss_as": "channel"},
        {"message_store_size": 0},
    ],
)
def test_bad_config_is_a_usage_error(options: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        OneBotConfig(**options)  # type: ignore[arg-type]


def test_secrets_stay_out_of_the_repr() -> None:
    config = OneBotConfig(access_token="tok-123", secret="sec-456")
    assert "tok-123" not in repr(config)
    assert "sec-456" not in repr(config)
    assert OneBotConfig(access_token="").access_token is None


def test_param_readers() -> None:
    params = {"n": " 12 ", "f": 3.0, "b": "yes", "z": 0, "s": 5, "bad": 1.5, "l": []}
    assert get_int(params, "n") == 12
    assert get_int(params, "f") == 3
    assert get_int(params, "missing", 7) == 7
    assert get_bool(params, "b", False) is True
    assert get_bool(params, "z", True) is False
    assert get_str(params, "s") == "5"
    assert get_str(params, "missing", "d") == "d"
    for call in (
        lambda: get_int(params, "bad"),
        lambda: get_int(params, "missing"),
        lambda: get_bool(params, "l", False),
        lambda: get_str(params, "l"),
        lambda: get_str(params, "missing"),
    ):
        with pytest.raises(ActionError) as info:
            call()
        assert info.value.retcode == 100
