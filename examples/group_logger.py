"""A group logger: appends every group message to a JSON Lines file.

Each line holds the time, the group's name, the sender's name (their group
card if they set one), the text and the message id. Run it against the
embedded emulator:  python examples/group_logger.py [group_log.jsonl]
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from smartqq import Client, GroupMessage
from smartqq.emulator import Emulator


def register(client: Client, path: Path) -> None:
    """Log ``client``'s group messages to ``path`` (appending, one JSON object per line)."""

    @client.on()
    async def log_group(msg: GroupMessage) -> None:
        group = client.contacts.groups.get(msg.from_uin)
        record = {
            "time": msg.time,
            "group": group.name if group else str(msg.from_uin),
            "sender": await msg.get_sender(),
            "text": msg.text,
            "msg_id": msg.msg_id,
        }
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


async def main(path: Path) -> int:
    """Log three scripted group messages; return how many lines were written."""
    async with Emulator(qr_confirm_after=1) as emu:
        client = Client(base_url=emu.url, qr_poll_interval=0.1, on_qrcode=lambda qr: None)
        register(client, path)
        async with client:
            await client.contacts.refresh()
            before = _count(path)
            emu.user(10002).send_group("Python Fans", "good morning, pythonistas")
            emu.user(10003).send_group("Python Fans", ["has anyone tried 3.13? ", ["face", 14]])
            emu.user(10002).send_group("Python Fans", "yes, the new REPL is lovely")
            for _ in range(200):
                if _count(path) - before >= 3:
                    break
                await asyncio.sleep(0.05)
    written = _count(path) - before
    print(f"wrote {written} group messages to {path}")
    return written


def _count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "group_log.jsonl")))
