"""Redaction by name and by registered value, at any number of registered secrets."""

from __future__ import annotations

import importlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartqq.protocol.redact import redact, register_secret, retire_secret

redact_module = importlib.import_module("smartqq.protocol.redact")


def test_registered_values_are_replaced_longest_first() -> None:
    register_secret("abcd1234")
    register_secret("abcd12345678")
    assert redact("x abcd12345678 y abcd1234 z") == "x *** y *** z"
    assert redact("abcd1234abcd1234") == "******"
    assert redact("no secrets here") == "no secrets here"


def test_names_and_extra_values() -> None:
    assert redact("GET /x?ptwebqq=deadbeef&clientid=1") == "GET /x?ptwebqq=***&clientid=1"
    assert redact('{"psessionid":"8368046764001d636f6e6e7365727665725f77656271"}') == (
        '{"psessionid":"***"}'
    )
    assert redact("token=xyz hunter22", extra=["hunter22"]) == "token=xyz ***"


def test_thousands_of_secrets_stay_fast_and_correct() -> None:
    values = [f"{i:08x}feedface" for i in range(5_000)]
    for value in values:
        register_secret(value)
    text = "&".join(f"k{i}={values[i]}" for i in range(0, 5_000, 500))
    assert redact(text).count("***") == 10
    assert values[123] not in redact(f"... {values[123]} ...")


def test_the_registry_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact_module, "_MAX_REGISTERED", len(redact_module._registered) + 2)
    register_secret("first-old-secret")
    register_secret("second-secret")
    register_secret("third-secret")  # evicts the oldest registered value
    assert len(redact_module._registered) == redact_module._MAX_REGISTERED
    assert "third-secret" in redact_module._registered


def test_a_value_is_retired_when_its_last_holder_retires_it() -> None:
    register_secret("shared-secret-1")
    register_secret("shared-secret-1")  # two clients with the same password
    retire_secret("shared-secret-1")
    assert redact("x shared-secret-1") == "x ***"
    retire_secret("shared-secret-1")
    assert redact("x shared-secret-1") == "x shared-secret-1"
    assert "shared-secret-1" not in redact_module._registered
    retire_secret("shared-secret-1")  # retiring an unknown value is harmless
    retire_secret("never-registered")


NO_STARS = st.characters(blacklist_characters="*")  # "***" is what replaces a secret


@given(
    st.text(NO_STARS, min_size=4, max_size=12),
    st.text(NO_STARS, max_size=20),
    st.text(NO_STARS, max_size=20),
)
def test_a_registered_value_never_survives(secret: str, before: str, after: str) -> None:
    register_secret(secret)
    assert secret not in redact(before + secret + after)


def test_values_sharing_a_prefix_are_all_redacted_and_retired_one_by_one() -> None:
    # One value per prefix is stored bare, several as a list; both shapes must redact.
    short, longer = "zq9Kshared", "zq9Kshared-and-longer"
    register_secret(short)
    try:
        assert redact(f"a {short} b") == "a *** b"
        register_secret(longer)
        try:
            assert redact(f"{longer} {short}") == "*** ***"
        finally:
            retire_secret(longer)
        assert redact(f"{longer}") == "***-and-longer"
        assert redact(f"{short}") == "***"
    finally:
        retire_secret(short)
    assert redact(f"{short} {longer}") == f"{short} {longer}"
