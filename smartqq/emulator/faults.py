"""Fault injection per endpoint: close, delay, HTTP status, malformed body, a retcode.

A rule fires ``once``, ``every`` Nth matching request, or with a seeded
probability, so fault runs are reproducible.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Fault", "FaultSet"]

Action = Literal["close", "delay", "status", "malformed", "retcode"]


@dataclass
class Fault:
    endpoint: str
    """The last path segment (``poll2``, ``send_buddy_msg2``) or ``*``."""
    action: Action
    value: float = 0
    mode: Literal["once", "every", "probability"] = "once"
    n: int = 1
    p: float = 1.0
    seed: int = 0
    hits: int = 0
    fired: int = 0
    fired_at: list[float] = field(default_factory=list)
    """``time.monotonic()`` of each firing (for measuring recovery after a fault)."""
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def matches(self, endpoint: str) -> bool:
        return self.endpoint in ("*", endpoint)

    def should_fire(self) -> bool:
        self.hits += 1
        if self.mode == "once":
            fire = self.fired == 0
        elif self.mode == "every":
            fire = self.hits % max(1, self.n) == 0
        else:
            fire = self._rng.random() < self.p
        if fire:
            self.fired += 1
            self.fired_at.append(time.monotonic())
        return fire

    @property
    def spent(self) -> bool:
        return self.mode == "once" and self.fired > 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """A rule from the control API's JSON; ValueError (only) for anything out of range,
        so NaN, Infinity or a status of 10**30 never reach a request."""
        action = data.get("action")
        if action not in ("close", "delay", "status", "malformed", "retcode"):
            raise ValueError(f"unknown fault action {action!r}")
        mode = data.get("mode", "once")
        if mode not in ("once", "every", "probability"):
            raise ValueError(f"unknown fault mode {mode!r}")
        low, high = _VALUE_RANGE[action]
        return cls(
            endpoint=str(data.get("endpoint", "*"))[:200],
            action=action,
            value=_number(data.get("value", 0), "value", low, high),
            mode=mode,
            n=int(_number(data.get("n", 1), "n", 1, 10**9)),
            p=_number(data.get("p", 1.0), "p", 0.0, 1.0),
            seed=int(_number(data.get("seed", 0), "seed", -(2**63), 2**63)),
        )


_VALUE_RANGE: dict[str, tuple[float, float]] = {
    "close": (0, 0),
    "delay": (0, 3600),
    "status": (200, 599),
    "malformed": (0, 0),
    "retcode": (-(2**31), 2**31 - 1),
}


def _number(raw: Any, name: str, low: float, high: float) -> float:
    if isinstance(raw, bool):
        raise ValueError(f"{name} must be a number")
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite")
    if low == high == 0:
        return 0.0  # the action takes no value: ignore what was given
    if not low <= value <= high:
        raise ValueError(f"{name} must be within {low:g}..{high:g}")
    return value


class FaultSet:
    def __init__(self) -> None:
        self.rules: list[Fault] = []

    def add(self, endpoint: str, action: Action, value: float = 0, **kw: Any) -> Fault:
        rule = Fault(endpoint, action, value, **kw)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def pick(self, endpoint: str) -> Fault | None:
        for rule in self.rules:
            if not rule.spent and rule.matches(endpoint) and rule.should_fire():
                return rule
        return None
