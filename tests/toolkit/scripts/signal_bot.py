"""client.run() in the main thread, the emulator in a thread of its own.

Prints "ready" from an on_startup hook; the test then sends SIGINT or SIGTERM
and expects exit status 0 with the shutdown hook run.
"""

from __future__ import annotations

import asyncio
import sys
import threading

from smartqq import Client
from smartqq.emulator import Emulator


def serve(ready: threading.Event, box: dict[str, object], stop: threading.Event) -> None:
    async def main() -> None:
        async with Emulator(hold=1.0, qr_confirm_after=1) as emu:
            box["url"] = emu.url
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.02)

    asyncio.run(main())


def run() -> None:
    ready, stop = threading.Event(), threading.Event()
    box: dict[str, object] = {}
    thread = threading.Thread(target=serve, args=(ready, box, stop))
    thread.start()
    ready.wait(10)
    client = Client(base_url=str(box["url"]), on_qrcode=lambda qr: None, qr_poll_interval=0.01)

    @client.on_startup
    def started() -> None:
        print("ready", flush=True)

    @client.on_shutdown
    def stopped() -> None:
        print("shutdown hook ran", flush=True)

    try:
        client.run()
    finally:
        stop.set()
        thread.join()
    print("run() returned", flush=True)


if __name__ == "__main__":
    run()
    sys.exit(0)
