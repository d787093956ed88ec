"""The hash functions of the WebQQ / SmartQQ protocol (PROTOCOL.md §1.4, §2, §4, §5).

All functions are pure and work on unbounded Python ints, masking exactly where
the JavaScript originals did. uins are treated as unsigned 32-bit values
(values above 2**31 are real).
"""

from __future__ import annotations

import hashlib

__all__ = [
    "bkn",
    "friend_hash",
    "friend_hash_password_error",
    "friend_hash_quicksort",
    "hash33",
    "password_hash",
    "password_hash_salted",
    "time33",
    "uin_salt",
]

_MASK32 = 0xFFFFFFFF


def uin_salt(uin: int) -> bytes:
    """The 8-byte big-endian salt ptlogin derives from a QQ number (§1.2 arg 3)."""
    if uin < 0 or uin >= 1 << 64:
        raise ValueError("uin out of range")
    return uin.to_bytes(8, "big")


def password_hash_salted(password: str, salt: bytes, verifycode: str) -> str:
    """The md5 + salt password hash (§1.4) with an explicit 8-byte salt."""
    d1 = hashlib.md5(password.encode("utf-8")).digest()
    h2 = hashlib.md5(d1 + salt).hexdigest().upper()
    return hashlib.md5((h2 + verifycode.upper()).encode("utf-8")).hexdigest().upper()


def password_hash(password: str, uin: int, verifycode: str) -> str:
    """``p`` for ``/login``: ``MD5(HEX(MD5(MD5(pw) ‖ salt8)) ‖ UPPER(vc))``, upper-case hex."""
    return password_hash_salted(password, uin_salt(uin), verifycode)


def hash33(s: str) -> int:
    """``ptqrtoken`` from the ``qrsig`` cookie: ``e = 33e + c (mod 2**32)``, low 31 bits."""
    e = 0
    for ch in s:
        e = (e * 33 + ord(ch)) & _MASK32
    return e & 0x7FFFFFFF


def bkn(skey: str) -> int:
    """qun.qq.com's ``bkn``: hash33 seeded with 5381 (§5.11)."""
    e = 5381
    for ch in _codes(skey):
        e = (e * 33 + ch) & _MASK32
    return e & 0x7FFFFFFF


def time33(s: str) -> int:
    """``pt4_hkey`` for the ptlogin logout: ``e = 33e + c (mod 2**32)``, no final mask (§5.13)."""
    e = 0
    for ch in _codes(s):
        e = (e * 33 + ch) & _MASK32
    return e


def _codes(s: str) -> list[int]:
    return [ord(c) for c in s]


def friend_hash(uin: int, ptwebqq: str) -> str:
    """The "EC/OK" hash of ``get_user_friends2`` in the SmartQQ era (§4.1)."""
    acc = [0, 0, 0, 0]
    for i, ch in enumerate(ptwebqq):
        acc[i % 4] ^= ord(ch)
    b = (uin & _MASK32).to_bytes(4, "big")
    v = [b[0] ^ 0x45, b[1] ^ 0x43, b[2] ^ 0x4F, b[3] ^ 0x4B]
    out = [acc[0], v[0], acc[1], v[1], acc[2], v[2], acc[3], v[3]]
    return "".join(f"{x & 0xFF:02X}" for x in out)


def friend_hash_password_error(uin: int, ptwebqq: str) -> str:
    """The 2014 "password error" XOR hash (§4.2)."""
    key = ptwebqq + "password error"
    digits = str(uin)
    s = (digits * (len(key) // len(digits) + 1))[: len(key)]
    return "".join(f"{ord(a) ^ ord(b):02X}" for a, b in zip(s, key, strict=True))


def friend_hash_quicksort(uin: int, ptwebqq: str) -> str:
    """The 2013 "quicksort trace" hash (§4.3): the moves of a quicksort stir 4 bytes."""
    n = list((uin & _MASK32).to_bytes(4, "big"))
    r = [ord(c) for c in ptwebqq]
    stack: list[tuple[int, int]] = [(0, len(r) - 1)]
    while stack:
        lo, hi = stack.pop()
        if lo >= hi or lo < 0 or hi >= len(r):
            continue
        if lo + 1 == hi:
            if r[lo] > r[hi]:
                r[lo], r[hi] = r[hi], r[lo]
            continue
        start, end, pivot = lo, hi, r[lo]
        while lo < hi:
            while lo < hi and r[hi] >= pivot:
                hi -= 1
                n[0] = (n[0] + 3) & 0xFF
            if lo < hi:
                r[lo] = r[hi]
                lo += 1
                n[1] = (n[1] * 13 + 43) & 0xFF
            while lo < hi and r[lo] <= pivot:
                lo += 1
                n[2] = (n[2] - 3) & 0xFF
            if lo < hi:
                r[hi] = r[lo]
                hi -= 1
                n[3] = (n[0] ^ n[1] ^ n[2] ^ (n[3] + 1)) & 0xFF
        r[lo] = pivot
        stack.append((start, lo - 1))
        stack.append((lo + 1, end))
    return "".join(f"{x:02X}" for x in n)
