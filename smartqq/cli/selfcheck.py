"""Checks the hash vectors of PROTOCOL.md Appendix A against this installation."""

from __future__ import annotations

from collections.abc import Callable

from smartqq.protocol import bkn, friend_hash, friend_hash_quicksort, hash33, password_hash, time33

VECTORS: list[tuple[str, Callable[[], object], object]] = [
    (
        "EC/OK",
        lambda: friend_hash(
            1234567890, "a4f6a3bd5f6a1de0d5c8b9f1d2e3c4b5a6978877665544332211ffeeddccbbaa"
        ),
        "0C0C51D50B4D5C99",
    ),
    ("EC/OK empty", lambda: friend_hash(1603829490, ""), "001A00DB003100B9"),
    (
        "quicksort",
        lambda: friend_hash_quicksort(
            3296454801, "26a0c53ede7f6dc9689fabd454265e41d33c0a1484f8f0b1"
        ),
        "1D7816BC",
    ),
    (
        "hash33",
        lambda: hash33("hJ9GvNx*oIvLjP5I5dQ19KPa3zwxNI62eALLO*g2JLbKPYsZIRsnbJIxNe74NzQQ"),
        1178303247,
    ),
    ("bkn", lambda: bkn("@beMESLu1X"), 1412445979),
    ("time33", lambda: time33("397467713"), 3597827071),
    (
        "password",
        lambda: password_hash("password", 1234567890, "!ABC"),
        "7B6ED3472181A432C2A35EE534A133CE",
    ),
]


def selfcheck() -> int:
    failed = 0
    for name, fn, expected in VECTORS:
        got = fn()
        ok = got == expected
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {got}")
    print(f"{len(VECTORS) - failed} passed, {failed} failed")
    return 1 if failed else 0
