"""Fault injection that counts every message: zero lost, zero delivered twice, order kept."""

from __future__ import annotations

import pytest

from .fault_run import BACKOFF_CAP, HOLD, POLL_TIMEOUT, FaultRunResult, fault_run


def check(res: FaultRunResult) -> None:
    print(res.summary())
    assert res.delivered > 0
    assert res.lost == []
    assert res.duplicated == []
    assert res.out_of_order == []
    # From a fault's end to the next delivered message. Typically under 0.1 s; the bound
    # allows one poll stalled on a connection the fault left behind (the client timeout),
    # then the backoff cap and one idle hold.
    assert res.max_gap_after_fault < POLL_TIMEOUT + BACKOFF_CAP + HOLD, res.gaps
    assert "sent but not exactly once" not in res.replies
    assert "sent twice" not in res.replies
    # A reply may fail on a dropped connection, never because the client lost track of ids.
    assert [e for e in res.reply_errors if "UsageError" in e] == []
    assert res.leftover_tasks == []
    assert res.fd_after <= res.fd_before


@pytest.mark.parametrize("seed", [1, 2])
async def test_short_fault_run(seed: int) -> None:
    res = await fault_run(duration=8.0, seed=seed)
    check(res)
    assert sum(res.faults.values()) >= 15


@pytest.mark.soak
async def test_soak_ten_minutes() -> None:
    res = await fault_run(duration=600.0, seed=7)
    check(res)
    first, last = res.rss_kib[len(res.rss_kib) // 10], res.rss_kib[-1]
    assert last < first * 1.2, (first, last)  # flat after warm-up
