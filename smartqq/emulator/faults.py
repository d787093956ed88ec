"""Fault injection per endpoint: close, delay, HTTP status, malformed body, a retcode.

A rule fires ``once``, ``every`` Nth matching request, or with a seeded
probability, so fault runs are reproducible.
"""

from __future__ import annotations

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
        action = data.get("action")
        if action not in ("close", "delay", "status", "malformed", "retcode"):
            raise ValueError(f"unknown fault action {action!r}")
        mode = data.get("mode", "once")
        if mode not in ("once", "every", "probability"):
            raise ValueError(f"unknown fault mode {mode!r}")
        return cls(
            endpoint=str(data.get("endpoint", "*")),
            action=action,
            value=float(data.get("value", 0)),
            mode=mode,
            n=int(data.get("n", 1)),
            p=float(data.get("p", 1.0)),
            seed=int(data.get("seed", 0)),
        )


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
