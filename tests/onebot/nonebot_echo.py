"""An unmodified NoneBot2 bot (the OneBot v11 adapter), configured as its users do.

Run by tests/onebot/test_framework_nonebot.py in a child process; the connection
comes from environment variables only (DRIVER, HOST, PORT, ONEBOT_WS_URLS,
ONEBOT_API_ROOTS, ONEBOT_ACCESS_TOKEN, ONEBOT_SECRET). It answers every private
and group message.
"""

import nonebot
from nonebot import on_message
from nonebot.adapters.onebot.v11 import Adapter, Bot, MessageEvent

nonebot.init()
nonebot.get_driver().register_adapter(Adapter)

echo = on_message()


@echo.handle()
async def _(bot: Bot, event: MessageEvent) -> None:
    await bot.send(event, f"nb {event.message_type} {event.get_plaintext()}")


if __name__ == "__main__":
    nonebot.run()
