"""The garbage-collector setting for a process that serves the emulator (``smartqq emulator``).

Measured on issue 17's burst (20 group messages to 1,000 held polls, emulator in its own
process): each burst allocates some 25,000 short-lived container objects (requests,
responses, coroutine frames). At CPython's default young-generation threshold (700) the
collector ran ~35 times per burst; each pass examines and promotes whatever is in
flight at that moment, and the promoted objects of 1,000 held connections trigger a
full collection every few bursts (~0.1 s each). Together that was 15-25 % of the
emulator's CPU time. With the young threshold at 30,000 most of those objects are freed
by reference counting before a pass sees them: ~7 passes over a whole run instead of
~650, and the collector's total time fell from ~1.2-1.6 s to ~0.1 s.

Cyclic garbage still gets collected, just in larger, rarer passes (a few MB at most wait
for one). Only the command that owns its process applies this: an :class:`Emulator`
embedded in a test or a bot leaves its host's collector alone.
"""

from __future__ import annotations

import gc

__all__ = ["SERVING_THRESHOLD", "tune_for_serving"]

SERVING_THRESHOLD = 30_000
"""Young-generation threshold (allocations minus deallocations) for a serving process."""


def tune_for_serving() -> tuple[int, int, int]:
    """Raise the young-generation threshold (never lower it); the older ones are kept.

    Returns the thresholds now in force.
    """
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, SERVING_THRESHOLD), middle, old)
    return gc.get_threshold()
