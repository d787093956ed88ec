"""smartqq benchmarks: each figure beside a raw baseline measured in the same run.

    python benchmarks/run.py --quick          # under a minute
    python benchmarks/run.py                  # the full run (1,000 clients)
    python benchmarks/run.py --check          # exit 1 when a target is missed
    python benchmarks/run.py --memory-profile # where memory per client goes (tracemalloc)

Prints a table and writes JSON (``--json``, default ``benchmarks/results.json``).
The ratio is the headline: these machines are shared and noisy, absolute
numbers are not stable. Not run in CI for that reason.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inmemory
import local
import wire


def raise_fd_limit() -> int:
    """1,000 clients need more than the usual 1,024 descriptors; raise the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            return soft
    return want


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("ms", "s", "KiB"):
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def table(rows: list[dict[str, Any]]) -> str:
    head = ("figure", "ours", "baseline", "ratio", "target", "ok")
    body = [
        (
            r["figure"],
            fmt(r["value"], r["unit"]),
            fmt(r["baseline"], r["unit"]),
            f"{r['ratio']:.2f}" if r["ratio"] is not None else "-",
            r["target"],
            "yes" if r["ok"] else "NO",
        )
        for r in rows
    ]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True))
        for row in [head, *body]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The README's table."""
    lines = [
        "| figure | ours | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = fmt(r["baseline"], r["unit"])
        if r.get("baseline_name") and r["baseline"] is not None:
            base += f" ({r['baseline_name']})"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        met = "yes" if r["ok"] else "**no**"
        target = r["target"].replace("|", "\\|")
        lines.append(
            f"| {r['figure']} | {fmt(r['value'], r['unit'])} | {base} | {ratio} | {target} | {met} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }


async def run_wire(quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += await wire.wire_rows(quick, Path(tmp))
        rows += await wire.scale_rows(quick, Path(tmp))
    return rows


def onebot_rows(quick: bool) -> list[dict[str, Any]]:
    """OneBot v11 events/s beside smartqq's own end-to-end figure of the same run
    (``onebot_bench.py``, a few seconds); "n/a" where the OneBot layer is missing."""
    base = {"target": "report", "ok": True}
    try:
        import onebot_bench

        result = asyncio.run(onebot_bench.measure(quick))
    except ImportError as exc:
        na = "n/a (not available: " + type(exc).__name__ + ")"
        return [
            {
                **base,
                "figure": ONEBOT_FIGURE,
                "value": None,
                "baseline": None,
                "baseline_name": na,
                "ratio": None,
                "unit": "events/s",
            }
        ]
    return [
        {
            **base,
            "figure": ONEBOT_FIGURE,
            "value": result["onebot_events_per_s"],
            "baseline": result["smartqq_events_per_s"],
            "baseline_name": "smartqq end to end in the same run (plain handler)",
            "ratio": result["onebot_ratio"],
            "unit": "events/s",
        },
        {
            **base,
            "figure": "OneBot v11: reply latency p99 (inject -> event -> send_private_msg), ms",
            "value": result["reply_latency_p99_ms"],
            "baseline": None,
            "baseline_name": "",
            "ratio": None,
            "unit": "ms",
        },
    ]


CLUSTER_FIGURE = "cluster: emulator -> gateway -> NATS -> 1 worker -> reply, replies/s"


def cluster_rows(quick: bool) -> list[dict[str, Any]]:
    """``cluster_bench.py`` with one worker beside the single-process client (same run,
    a few seconds); "n/a" without the cluster extra or a ``nats-server``."""
    row: dict[str, Any] = {
        "figure": CLUSTER_FIGURE,
        "value": None,
        "baseline": None,
        "baseline_name": "the single-process client answering the same messages",
        "ratio": None,
        "target": "report",
        "ok": True,
        "unit": "replies/s",
    }
    try:
        import cluster_bench

        messages, chats = (300 if quick else 1000), 64

        async def both() -> tuple[float, float]:
            single = await cluster_bench.baseline(messages, chats)
            with tempfile.TemporaryDirectory() as tmp:
                rate = await cluster_bench.cluster_row(Path(tmp), messages, chats, 1, 16)
            return single, rate

        single, rate = asyncio.run(both())
    except (ImportError, OSError, TimeoutError) as exc:
        row["baseline_name"] = f"n/a (not available: {type(exc).__name__})"
        return [row]
    row.update(value=rate, baseline=single, ratio=rate / single)
    return [row]


ONEBOT_FIGURE = "OneBot v11: client -> OneBot server -> forward WebSocket, events/s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes; under a minute")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("results.json"))
    parser.add_argument("--markdown", action="store_true", help="also print the README table")
    parser.add_argument(
        "--memory-profile",
        action="store_true",
        help="only profile memory per client by module (memory_profile.py; 100 clients "
        "with --quick, else 1,000)",
    )
    parser.add_argument(
        "--no-cluster", action="store_true", help="skip the cluster row (cluster_bench.py)"
    )
    parser.add_argument(
        "--no-onebot", action="store_true", help="skip the OneBot rows (onebot_bench.py)"
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("KIND", "URL", "N", "EVENTS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    raise_fd_limit()
    if args.child:
        kind, url, n, events = args.child
        fn = wire.child_clients if kind == "clients" else wire.child_bare
        print(json.dumps(asyncio.run(fn(url, int(n), int(events)))))
        return 0
    if args.memory_profile:
        import memory_profile

        return memory_profile.main(["-n", "100" if args.quick else "1000"])
    started = time.perf_counter()
    rows = [
        local.parse_dispatch_rows(args.quick),
        *local.ordering_rows(args.quick),
        *asyncio.run(run_wire(args.quick)),
    ]
    loopback = next((r["value"] for r in rows if r["figure"].startswith("end to end")), None)
    rows.append(inmemory.inmemory_row(args.quick, loopback))
    if not args.no_onebot:
        rows += onebot_rows(args.quick)
    if not args.no_cluster:
        rows += cluster_rows(args.quick)
    print(table(rows))
    if args.markdown:
        print("\n" + markdown(rows))
    elapsed = time.perf_counter() - started
    print(f"\n{'quick' if args.quick else 'full'} run in {elapsed:.0f} s on {machine()}")
    args.json.write_text(
        json.dumps({"machine": machine(), "quick": args.quick, "rows": rows}, indent=2) + "\n"
    )
    print(f"wrote {args.json}")
    missed = [r["figure"] for r in rows if not r["ok"]]
    if missed:
        print("targets missed: " + "; ".join(missed))
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
