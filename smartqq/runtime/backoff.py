"""Exponential backoff with full jitter, capped, with ``reset()`` after a success."""

from __future__ import annotations

import random

__all__ = ["Backoff"]

# Jitter needs no per-instance stream; one Random per Backoff was 2.5 KiB per client.
_SHARED_RNG = random.Random()


class Backoff:
    def __init__(
        self,
        base: float = 0.5,
        cap: float = 30.0,
        factor: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        if base <= 0 or cap < base or factor < 1:
            raise ValueError("need 0 < base <= cap and factor >= 1")
        self.base, self.cap, self.factor = base, cap, factor
        self.attempt = 0
        self._rng = rng or _SHARED_RNG

    def next(self) -> float:
        """The next delay: uniform in [ceiling/2, ceiling], ceiling = min(cap, base * factor**n)."""
        ceiling = min(self.cap, self.base * self.factor**self.attempt)
        self.attempt += 1
        return ceiling / 2 + self._rng.random() * ceiling / 2

    def reset(self) -> None:
        self.attempt = 0
