"""Commands: ``/roll 20``, ``!ROLL 20``, ``@BotNick /roll 20``.

A command is a ``MessageEvent`` handler with a :class:`CommandSpec` as its
first filter. The spec parses the text once per event (prefix, name, the rest
of the line), matches the name case-insensitively against the name and
aliases, and hands the handler ``args`` (the rest of the line, stripped) and
``command`` (the :class:`CommandCall`). Typed positional parameters of the
handler (``sides: int = 6``) are converted from the words of ``args`` when the
handler is called; a bad value or a missing required one answers with the
usage line instead of calling the handler. Cooldowns are per chat or per user,
remembered per command.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from typing import Any, Literal, get_type_hints

from smartqq.errors import UsageError
from smartqq.events import Event, GroupMessage, MessageEvent
from smartqq.filters import Filter

__all__ = ["CommandCall", "CommandSpec", "parse_command"]

DEFAULT_PREFIXES = ("/", "!")
_CONVERTIBLE: dict[Any, str] = {int: "integer", float: "number", str: "word", bool: "yes/no"}
_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}
_RESERVED = frozenset({"args", "command", "match", "client", "data"})


@dataclass(frozen=True, slots=True)
class CommandCall:
    """What was typed: ``prefix``, ``name`` (as typed, lower-cased) and ``args``."""

    prefix: str
    name: str
    args: str


def parse_command(text: str, prefixes: tuple[str, ...], nick: str | None) -> CommandCall | None:
    """``(prefix, name, rest)`` of a command line, or ``None`` when it is not one."""
    text = text.strip()
    if nick and text.startswith("@" + nick):
        text = text[len(nick) + 1 :].lstrip()
    for prefix in prefixes:
        if text.startswith(prefix):
            body = text[len(prefix) :]
            break
    else:
        return None
    name, _, rest = body.partition(" ")
    if "\n" in name:
        name, _, more = name.partition("\n")
        rest = more + (" " + rest if rest else "")
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        return None
    return CommandCall(prefix, name.casefold(), rest.strip())


class CommandSpec(Filter):
    """The filter half of a command, plus what ``/help`` and cooldowns need."""

    def __init__(
        self,
        name: str,
        *,
        description: str = "",
        aliases: tuple[str, ...] = (),
        cooldown: float = 0.0,
        cooldown_scope: Literal["chat", "user"] = "chat",
        cooldown_reply: str | None = None,
        prefixes: tuple[str, ...] | None = None,
    ) -> None:
        if not name or " " in name:
            raise UsageError(f"a command name is one word, not {name!r}")
        if cooldown < 0:
            raise UsageError("cooldown must be >= 0 seconds")
        self.name = name.casefold()
        self.names = frozenset({self.name, *(a.casefold() for a in aliases)})
        self.aliases = tuple(a.casefold() for a in aliases)
        self.description = description
        self.cooldown = cooldown
        self.cooldown_scope = cooldown_scope
        self.cooldown_reply = cooldown_reply
        self.prefixes = prefixes  # None: the owning router's prefixes
        self.router: Any = None
        self.positionals: list[tuple[str, Any, bool]] = []  # (name, type, required)
        self._last_used: dict[tuple[str, int], float] = {}

    def bind_handler(self, callback: Any) -> None:
        """Read the handler's typed positional parameters (after the event)."""
        try:
            hints = get_type_hints(callback)
        except Exception as exc:
            raise UsageError(f"cannot read the annotations of {callback!r}: {exc}") from None
        params = list(inspect.signature(callback).parameters.values())[1:]
        for p in params:
            if p.name in _RESERVED or p.kind not in (
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                inspect.Parameter.KEYWORD_ONLY,
            ):
                continue
            kind = hints.get(p.name, str)
            if kind not in _CONVERTIBLE:
                continue  # left for middleware to provide by name
            self.positionals.append((p.name, kind, p.default is inspect.Parameter.empty))

    @property
    def usage(self) -> str:
        prefix = (self.prefixes or self._router_prefixes())[0]
        words = [f"<{n}>" if required else f"[{n}]" for n, _, required in self.positionals]
        line = " ".join([prefix + self.name, *words])
        return f"{line} - {self.description}" if self.description else line

    def _router_prefixes(self) -> tuple[str, ...]:
        return getattr(self.router, "prefixes", DEFAULT_PREFIXES)

    def check(self, event: Event) -> bool | dict[str, Any]:
        if not isinstance(event, MessageEvent):
            return False
        nick = getattr(event.client, "self_nick", None) if isinstance(event, GroupMessage) else None
        call = parse_command(event.text, self.prefixes or self._router_prefixes(), nick)
        if call is None or call.name not in self.names:
            return False
        return {"command": call, "args": call.args}

    async def evaluate(self, event: Event) -> bool | dict[str, Any]:
        return self.check(event)

    def convert(self, args: str) -> dict[str, Any]:
        """The typed positionals from ``args``; ``ValueError`` names the bad one."""
        words = args.split()
        out: dict[str, Any] = {}
        for index, (name, kind, required) in enumerate(self.positionals):
            last = index == len(self.positionals) - 1
            if index >= len(words):
                if required:
                    raise ValueError(f"missing {name}")
                continue
            raw = " ".join(words[index:]) if last and kind is str else words[index]
            out[name] = _convert(raw, kind, name)
        return out

    def cooling(self, event: MessageEvent, now: float | None = None) -> float:
        """Seconds left before this chat (or user) may use the command again; 0 = go."""
        if not self.cooldown:
            return 0.0
        now = time.monotonic() if now is None else now
        key = ("user", event.sender_uin) if self.cooldown_scope == "user" else event.chat_key
        last = self._last_used.get(key)
        if last is not None and now - last < self.cooldown:
            return self.cooldown - (now - last)
        self._last_used[key] = now
        if len(self._last_used) > 10_000:  # forget the oldest half: bounded memory
            for old in list(self._last_used)[:5_000]:
                del self._last_used[old]
        return 0.0

    def __repr__(self) -> str:
        return f"command({self.name!r})"


def _convert(raw: str, kind: Any, name: str) -> Any:
    if kind is bool:
        low = raw.casefold()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
        raise ValueError(f"{name} must be yes or no, not {raw!r}")
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(
            f"{name} must be a{'n' if kind is int else ''} {_CONVERTIBLE[kind]}, not {raw!r}"
        ) from None


def help_text(specs: list[CommandSpec]) -> str:
    """The automatic ``/help`` answer: one line per command, aliases after it."""
    lines = ["Commands:"]
    for spec in sorted(specs, key=lambda s: s.name):
        line = spec.usage
        if spec.aliases:
            line += f" (also: {', '.join(spec.aliases)})"
        lines.append(line)
    return "\n".join(lines)
