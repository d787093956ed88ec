"""Appendix A vectors (independent of our own emulator) and properties."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartqq.protocol import (
    bkn,
    friend_hash,
    friend_hash_password_error,
    friend_hash_quicksort,
    hash33,
    password_hash,
    password_hash_salted,
    time33,
    uin_salt,
)

ROWS = [
    (
        1234567890,
        "a4f6a3bd5f6a1de0d5c8b9f1d2e3c4b5a6978877665544332211ffeeddccbbaa",
        "0C0C51D50B4D5C99",
        "B3C6D664",
    ),
    (
        3296454801,
        "26a0c53ede7f6dc9689fabd454265e41d33c0a1484f8f0b1",
        "5E815F385BA701DA",
        "1D7816BC",
    ),
    (1603829490, "", "001A00DB003100B9", None),
    (4294967295, "x", "78BA00BC00B000B4", None),
]
PASSWORD_ERROR = [
    "500655025405555C0C56075302505006530D5A08530B55055104520B5A04530752020C010F000E07070406010102040B0B02000355525053535C5A53535052554557444B4E5F435613514744584A",
    "010458065700075D545404540F52570C0200095752505D020101060E055407035D050756045901050B065F0E52055609405040414E594651145D42435C40",
]


@pytest.mark.parametrize(("uin", "ptwebqq", "ecok", "qsort"), ROWS)
def test_friend_hash_vectors(uin: int, ptwebqq: str, ecok: str, qsort: str | None) -> None:
    assert friend_hash(uin, ptwebqq) == ecok
    if qsort is not None:
        assert friend_hash_quicksort(uin, ptwebqq) == qsort


@pytest.mark.parametrize(("row", "expected"), list(zip(ROWS[:2], PASSWORD_ERROR, strict=True)))
def test_password_error_vectors(row: tuple[int, str, str, str], expected: str) -> None:
    assert friend_hash_password_error(row[0], row[1]) == expected


def test_hash33_vectors() -> None:
    assert hash33("hJ9GvNx*oIvLjP5I5dQ19KPa3zwxNI62eALLO*g2JLbKPYsZIRsnbJIxNe74NzQQ") == 1178303247
    assert hash33("g3x2rsxBl5XERjRyBw1UMc2vgoXpjLyVXUa0qBUX5BEqHg2UWuF8rJtk-KB*jL1A") == 1591611444


def test_bkn_and_time33_vectors() -> None:
    assert bkn("@beMESLu1X") == 1412445979
    assert time33("397467713") == 3597827071


def test_password_hash_vectors() -> None:
    assert uin_salt(1234567890) == b"\x00\x00\x00\x00\x49\x96\x02\xd2"
    assert password_hash("password", 1234567890, "!ABC") == "7B6ED3472181A432C2A35EE534A133CE"
    assert password_hash("password", 1234567890, "abcd") == "BDA0E1A7DED2715DB92685626467CA6C"
    # The code is upper-cased before hashing (Tencent's comm.js).
    assert password_hash("password", 1234567890, "ABCD") == password_hash(
        "password", 1234567890, "abcd"
    )


def test_uin_salt_range() -> None:
    with pytest.raises(ValueError):
        uin_salt(-1)


uins = st.integers(min_value=0, max_value=2**32 - 1)
ptwebqqs = st.text(alphabet="0123456789abcdef", max_size=64)


@given(uins, ptwebqqs)
def test_friend_hash_shape(uin: int, ptwebqq: str) -> None:
    h = friend_hash(uin, ptwebqq)
    assert re.fullmatch(r"[0-9A-F]{16}", h)
    # only the low 32 bits of the uin matter (JS ToInt32 semantics)
    assert friend_hash(uin + 2**32, ptwebqq) == h


@given(uins)
def test_friend_hash_empty_ptwebqq_has_zero_even_bytes(uin: int) -> None:
    h = friend_hash(uin, "")
    assert [h[i : i + 2] for i in range(0, 16, 4)] == ["00"] * 4


@given(uins, ptwebqqs)
def test_variant_shapes(uin: int, ptwebqq: str) -> None:
    assert re.fullmatch(r"[0-9A-F]{8}", friend_hash_quicksort(uin, ptwebqq))
    assert len(friend_hash_password_error(uin, ptwebqq)) == 2 * (len(ptwebqq) + 14)


@given(st.text(max_size=80))
def test_hash33_is_31_bit(s: str) -> None:
    assert 0 <= hash33(s) < 2**31
    assert 0 <= time33(s) < 2**32


@given(st.text(max_size=20), st.binary(min_size=8, max_size=8), st.text(max_size=6))
def test_password_hash_shape(pw: str, salt: bytes, vc: str) -> None:
    assert re.fullmatch(r"[0-9A-F]{32}", password_hash_salted(pw, salt, vc))
