"""A conversation: ``/register`` asks two questions in the same chat."""

from __future__ import annotations

from smartqq import MessageEvent, Router

router = Router(name="profile")
profiles: dict[int, tuple[str, int]] = {}


@router.command("register", description="tell me your name and age")
async def register(msg: MessageEvent) -> None:
    try:
        name = await msg.ask("What's your name?", timeout=60)
        age = await msg.ask(f"Nice to meet you, {name.text}. How old are you?", timeout=60)
    except TimeoutError:
        await msg.reply("Never mind, ask me again later.")
        return
    if not age.text.strip().isdigit():
        await msg.reply("That is not a number; /register to start again.")
        return
    profiles[msg.sender_uin] = (name.text, int(age.text))
    await msg.reply(f"Registered {name.text}, {int(age.text)}.")


@router.command("whoami", description="what I know about you")
async def whoami(msg: MessageEvent) -> None:
    known = profiles.get(msg.sender_uin)
    await msg.reply(f"{known[0]}, {known[1]}" if known else "I don't know you yet: /register")
