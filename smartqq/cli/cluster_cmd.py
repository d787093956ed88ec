"""``smartqq cluster import-session | gateway | worker``: the cluster on the command line.

    smartqq cluster import-session FILE --nats URL
    smartqq gateway --nats URL [--accounts all|QQ,QQ…] [--base-url URL] [--name NAME]
    smartqq worker  --nats URL --app package.module:router [--accounts all|QQ,…] [--concurrency N]

``gateway`` and ``worker`` run until SIGINT or SIGTERM, then stop cleanly
(a gateway publishes what it polled and hands its leases over; a worker lets
running handlers finish and acks their events) and exit 0. ``nats-py`` is
imported only here, so the rest of the command line works without the
``cluster`` extra. Exit codes: 0 success, 1 runtime failure, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Any

from smartqq._tasks import cancel_and_wait
from smartqq.errors import SmartQQError, UsageError

from .argtypes import positive_float, positive_int

__all__ = ["add_cluster_commands", "run_cluster_command"]

CLUSTER_COMMANDS = ("cluster", "gateway", "worker")


def _accounts(text: str) -> frozenset[int] | None:
    if text == "all":
        return None
    out = set()
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) <= 0:
            raise argparse.ArgumentTypeError(f"{part!r} is not a QQ number (or use 'all')")
        out.add(int(part))
    if not out:
        raise argparse.ArgumentTypeError("no accounts given")
    return frozenset(out)


def _add_cluster_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--nats",
        default=os.environ.get("SMARTQQ_NATS", "nats://127.0.0.1:4222"),
        help="NATS server URL(s), comma-separated (default: $SMARTQQ_NATS or nats://127.0.0.1:4222)",
    )
    p.add_argument("--lease-ttl", type=positive_float, default=6.0, help=argparse.SUPPRESS)
    p.add_argument("--ack-wait", type=positive_float, default=10.0, help=argparse.SUPPRESS)
    p.add_argument("--partitions", type=positive_int, default=16, help=argparse.SUPPRESS)
    p.add_argument(
        "--replicas",
        type=int,
        choices=(1, 3, 5),
        default=1,
        help="replicas of streams and buckets created by this process (3 on a cluster)",
    )


def add_cluster_commands(sub: Any) -> None:
    cluster = sub.add_parser("cluster", help="manage the cluster's stored state")
    csub = cluster.add_subparsers(dest="cluster_command", required=True)
    imp = csub.add_parser("import-session", help="put a saved session into the KV store")
    imp.add_argument("file", help="a session file written by 'smartqq login'")
    _add_cluster_options(imp)

    gw = sub.add_parser("gateway", help="hold SmartQQ sessions and publish their events to NATS")
    _add_cluster_options(gw)
    gw.add_argument("--accounts", type=_accounts, default=None, help="all (default) or QQ,QQ,…")
    gw.add_argument("--base-url", default=os.environ.get("SMARTQQ_BASE_URL"))
    gw.add_argument("--name", help="this gateway's name (default: host-pid)")
    gw.add_argument("--send-interval", type=float, default=0.5, help=argparse.SUPPRESS)
    gw.add_argument(
        "--poll-hold",
        type=positive_float,
        default=60.0,
        help="longest the service holds a poll, for accounts whose history does not say (60)",
    )

    wk = sub.add_parser("worker", help="run bot handlers on events from NATS")
    _add_cluster_options(wk)
    wk.add_argument("--app", required=True, help="package.module:router with the handlers")
    wk.add_argument("--accounts", type=_accounts, default=None, help="all (default) or QQ,QQ,…")
    wk.add_argument("--concurrency", type=positive_int, default=8)


def _config(args: argparse.Namespace) -> Any:
    from smartqq.cluster import ClusterConfig

    return ClusterConfig(
        lease_ttl=args.lease_ttl,
        ack_wait=args.ack_wait,
        partitions=args.partitions,
        replicas=args.replicas,
    )


async def _until_signalled(service: Any) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        starting = asyncio.ensure_future(service.start())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # raises what start() raised
            print(f"smartqq: {service!r} running; Ctrl-C to stop", file=sys.stderr, flush=True)
            await stopping
        else:
            await cancel_and_wait(starting)
    finally:
        await service.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _run(args: argparse.Namespace) -> int:
    servers = [u.strip() for u in args.nats.split(",") if u.strip()]
    if args.command == "cluster":
        from smartqq.cluster import import_session

        qq = await import_session(args.file, servers, _config(args))
        print(f"imported the session of {qq}")
        return 0
    if args.command == "gateway":
        from smartqq.cluster import Gateway

        gateway = Gateway(
            servers,
            accounts=args.accounts,
            base_url=args.base_url,
            name=args.name,
            config=_config(args),
            send_interval=args.send_interval,
            poll_hold=args.poll_hold,
        )
        await _until_signalled(gateway)
        return 0
    from smartqq.cluster import Worker, load_app

    worker = Worker(
        servers,
        load_app(args.app),
        accounts=args.accounts,
        concurrency=args.concurrency,
        config=_config(args),
    )
    await _until_signalled(worker)
    return 0


async def run_cluster_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    name = "cluster " + args.cluster_command if args.command == "cluster" else args.command
    try:
        return await _run(args)
    except ImportError as exc:
        print(f"smartqq {name}: {exc}; pip install 'smartqq[cluster]'", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"smartqq {name}: {exc}", file=sys.stderr)
        return 2
    except SmartQQError as exc:
        print(f"smartqq {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        # nats-py's connection errors (no servers, auth) have no common base we could name.
        with contextlib.suppress(Exception):
            print(f"smartqq {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
