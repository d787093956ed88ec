"""Once logged in, a client keeps only the cookies a saved session needs."""

from __future__ import annotations

from smartqq import BuddyMessage, Client
from smartqq.emulator import Emulator
from smartqq.protocol.cookies import PERSISTED_COOKIES
from smartqq.protocol.http import CookieJar
from smartqq.testing import until


def test_keep_only_forgets_the_other_names() -> None:
    jar = CookieJar()
    jar.set("skey", "@abc", "qq.com")
    jar.set("qrsig", "login-time", "ptlogin2.qq.com")
    jar.set("p_skey", "xyz", "web2.qq.com")
    jar.keep_only(PERSISTED_COOKIES)
    assert jar.get("qrsig") is None
    assert (jar.get("skey"), jar.get("p_skey")) == ("@abc", "xyz")
    assert jar.header_for("https://d1.web2.qq.com/channel/poll2") == "skey=@abc; p_skey=xyz"


async def test_a_logged_in_client_holds_only_persisted_cookies_and_still_works() -> None:
    emu = Emulator(hold=1)
    seen: list[str] = []
    async with Client(
        10001, "bot-password", transport=emu.transport(), send_interval=0, poll_timeout=11
    ) as client:

        @client.on(BuddyMessage)
        async def got(event: BuddyMessage) -> None:
            seen.append(event.text)
            await event.reply("ok")

        state = client._session.require_state()
        names = {cookie.name for cookie in state.cookies.cookies()}
        assert names <= PERSISTED_COOKIES
        assert {"skey", "ptwebqq", "p_skey"} <= names
        emu.user(10002).send_buddy(10001, "hello")
        await until(lambda: emu.sent, timeout=10)
    assert seen == ["hello"]
    assert emu.sent[0]["text"] == "ok"
