"""``OICQServer``: a small asyncio TCP OICQ server over a world of accounts (loopback).

It answers every user message type of the seed with the server message the seed pairs
it with, and pushes messages, friend additions and status changes to online users.
Choices where the seed is silent:

* Until a connection has signed on (:class:`Login`), only Register, Login and Ping are
  served; anything else, or a request whose ``uin`` is not the signed-on number, closes
  the connection.
* A hidden user is shown to others as offline (status 4).
* Messages to an offline user wait for their next login.
* ``CustomSearch`` never runs its text as SQL: it is matched as a substring of nicks.
* ``Monitor`` (watch someone's conversation) is refused silently.

Strangers can reach it, so everything a peer can make it hold is bounded (all
are constructor options; defaults in brackets):

* connections [``max_connections=1000``]: more are accepted and closed at once;
* a frame body [``max_frame=65536`` bytes]: a longer length field closes the connection;
* time [``read_timeout=30`` s] to finish a frame once started and to sign on after
  connecting (deadlines: trickling bytes or pinging does not extend them), and
  [``idle_timeout=600`` s] of silence from a signed-on user;
* unsent bytes to a peer that does not read [``max_write_buffer=1 MiB``] and the wait
  for them to drain [``write_timeout=10`` s]: past either, the peer is dropped;
* messages waiting for offline users [``max_offline_per_account=100``, oldest dropped
  first; ``max_offline_total=10000``, newest refused], none for unknown numbers;
* accounts created by ``Register`` [``max_registrations=1000``], each in O(1), and
  pending friend requests [``max_friend_requests=10000``].
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smartqq.legacy.errors import FrameError
from smartqq.legacy.oicq import messages as msg
from smartqq.legacy.oicq.codec import DEFAULT, Dialect, FrameReader, Party

from .tcp import TCPServer
from .world import FriendEntry as WorldFriend
from .world import World, demo_world

__all__ = ["OICQServer"]

log = logging.getLogger("smartqq.legacy.oicq.server")
ONLINE, HIDDEN, DND, OFFLINE = 1, 2, 3, 4

MAX_CONNECTIONS = 1000
MAX_FRAME = 64 * 1024
READ_TIMEOUT = 30.0
IDLE_TIMEOUT = 600.0
WRITE_TIMEOUT = 10.0
MAX_WRITE_BUFFER = 1 << 20
MAX_OFFLINE_PER_ACCOUNT = 100
MAX_OFFLINE_TOTAL = 10_000
MAX_REGISTRATIONS = 1000
MAX_FRIEND_REQUESTS = 10_000


class _SlowPeer(Exception):
    """The peer stopped reading what we send it."""


@dataclass
class _Conn:
    writer: asyncio.StreamWriter
    dialect: Dialect
    max_buffer: int = MAX_WRITE_BUFFER
    uin: int = 0
    mode: int = OFFLINE
    dropped: bool = False

    def push(self, message: msg.Message) -> None:
        if self.dropped:
            return
        self.writer.write(message.encode(self.dialect))
        # Pushes come from other users' requests and cannot wait for this peer: when
        # it has stopped reading, drop it instead of buffering without end.
        if self.writer.transport.get_write_buffer_size() > self.max_buffer:
            self.dropped = True
            log.info("dropping a peer that does not read (uin %d)", self.uin)
            self.writer.transport.abort()


@dataclass
class _Book:
    """One user's friend groups: number -> name, and friend -> group number."""

    names: dict[int, str] = field(default_factory=lambda: {0: "我的好友"})
    member: dict[int, int] = field(default_factory=dict)


class OICQServer(TCPServer):
    """``async with OICQServer(world) as srv: OICQClient(srv.host, srv.port)``."""

    def __init__(
        self,
        world: World | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        dialect: Dialect = DEFAULT,
        max_connections: int = MAX_CONNECTIONS,
        max_frame: int = MAX_FRAME,
        read_timeout: float = READ_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        write_timeout: float = WRITE_TIMEOUT,
        max_write_buffer: int = MAX_WRITE_BUFFER,
        max_offline_per_account: int = MAX_OFFLINE_PER_ACCOUNT,
        max_offline_total: int = MAX_OFFLINE_TOTAL,
        max_registrations: int = MAX_REGISTRATIONS,
        max_friend_requests: int = MAX_FRIEND_REQUESTS,
    ) -> None:
        self.world = world if world is not None else demo_world()
        self.dialect = dialect
        self.max_frame = max_frame
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.write_timeout = write_timeout
        self.max_write_buffer = max_write_buffer
        self.max_offline_per_account = max_offline_per_account
        self.max_offline_total = max_offline_total
        self.max_registrations = max_registrations
        self.max_friend_requests = max_friend_requests
        self.online: dict[int, _Conn] = {}
        self.waiting: dict[int, deque[msg.Message]] = {}
        self.waiting_total = 0
        self.offline_dropped = 0
        """Offline messages not kept (a cap was reached or the number does not exist)."""
        self.registrations = 0
        self._next_uin = max([9999, *self.world.accounts]) + 1
        self.books: dict[int, _Book] = {}
        self.auth: dict[int, int] = {}
        """Per user: 0 anyone may add them, 1 needs approval, 2 nobody (Register's ``auth``)."""
        self.requests: set[tuple[int, int]] = set()
        super().__init__(host, port, max_connections=max_connections)

    # -- connections -------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Conn(writer, self.dialect, self.max_write_buffer)
        frames = FrameReader(self.dialect, max_body=self.max_frame)
        clock = asyncio.get_running_loop().time
        connected = clock()
        frame_started: float | None = None
        try:
            while not conn.dropped:
                # Deadlines, not per-read timeouts: a peer trickling a byte at a time (or
                # pinging without signing on) must not hold a connection for ever.
                deadlines = []
                if not conn.uin:
                    deadlines.append(connected + self.read_timeout)
                if frame_started is not None:
                    deadlines.append(frame_started + self.read_timeout)
                wait = min(deadlines) - clock() if deadlines else self.idle_timeout
                try:
                    if wait <= 0:
                        raise TimeoutError
                    data = await asyncio.wait_for(reader.read(65536), wait)
                except TimeoutError:
                    log.info("closing a connection: too slow (signing on, a frame, or idle)")
                    return
                if not data:
                    return
                for frame in frames.feed(data):
                    if frame.sender != Party.USER:
                        raise FrameError("a user connection sent a server frame")
                    self._handle(conn, msg.decode_message(frame, self.dialect))
                if not frames.pending:
                    frame_started = None
                elif frame_started is None:
                    frame_started = clock()
                try:
                    await asyncio.wait_for(writer.drain(), self.write_timeout)
                except TimeoutError:
                    raise _SlowPeer from None
        except (FrameError, PermissionError) as exc:
            log.info("closing a connection: %s", exc)
        except _SlowPeer:
            log.info("dropping a peer that does not read (uin %d)", conn.uin)
            writer.transport.abort()
        finally:
            self._gone(conn)

    def _gone(self, conn: _Conn) -> None:
        if conn.uin and self.online.get(conn.uin) is conn:
            del self.online[conn.uin]
            self._tell_friends(conn.uin, OFFLINE)

    # -- helpers -----------------------------------------------------------------------

    def book(self, uin: int) -> _Book:
        return self.books.setdefault(uin, _Book())

    def shown_status(self, uin: int) -> int:
        conn = self.online.get(uin)
        if conn is None or conn.mode == HIDDEN:
            return OFFLINE
        return conn.mode

    def deliver(self, to: int, message: msg.Message) -> None:
        conn = self.online.get(to)
        if conn is not None and not conn.dropped:
            conn.push(message)
            return
        if to not in self.world.accounts or self.waiting_total >= self.max_offline_total:
            self.offline_dropped += 1
            return
        queue = self.waiting.setdefault(to, deque())
        if len(queue) >= self.max_offline_per_account:
            queue.popleft()  # the oldest makes room: the newest matter most on sign-on
            self.waiting_total -= 1
            self.offline_dropped += 1
        queue.append(message)
        self.waiting_total += 1

    def _tell_friends(self, uin: int, status: int) -> None:
        for acc in self.world.accounts.values():
            if uin in acc.friends and acc.qq in self.online and acc.qq != uin:
                self.online[acc.qq].push(msg.FriendStatus(uin, status))

    def _user_entry(self, uin: int) -> msg.UserEntry:
        acc = self.world.accounts[uin]
        return msg.UserEntry(uin, acc.nick, acc.face, 0, "")

    # -- requests ----------------------------------------------------------------------

    def _handle(self, conn: _Conn, m: msg.Message) -> None:
        if isinstance(m, msg.Register):
            conn.push(self._register(m))
            return
        if isinstance(m, msg.Login):
            self._login(conn, m)
            return
        if isinstance(m, msg.Ping):
            conn.push(msg.Pong(m.uin))
            return
        if not conn.uin or getattr(m, "uin", conn.uin) != conn.uin:
            raise PermissionError(f"{type(m).__name__} before signing on, or for another uin")
        handler = _HANDLERS.get(type(m))
        if handler is not None:
            handler(self, conn, m)

    def _register(self, m: msg.Register) -> msg.RegisterResult:
        if self.registrations >= self.max_registrations:
            return msg.RegisterResult(0, 0)
        uin = self._next_uin
        while uin in self.world.accounts:  # accounts added to the world directly
            uin += 1
        self._next_uin = uin + 1
        self.registrations += 1
        gender = "female" if m.gender == 1 else "male"
        self.world.add_account(uin, password=m.password, nick=m.nick, face=m.face, gender=gender)
        self.auth[uin] = m.auth
        return msg.RegisterResult(1, uin)

    def _login(self, conn: _Conn, m: msg.Login) -> None:
        acc = self.world.accounts.get(m.uin)
        if acc is None or acc.password != m.password:
            conn.push(msg.LoginResult(0, []))
            return
        old = self.online.get(m.uin)
        if old is not None and old is not conn:
            old.writer.close()
        conn.uin, conn.mode = m.uin, HIDDEN if m.mode == 1 else ONLINE
        self.online[m.uin] = conn
        book = self.book(m.uin)
        groups = []
        for number, name in sorted(book.names.items()):
            friends = [
                msg.FriendEntry(f, self.world.accounts[f].face % 256, self.shown_status(f),
                                self.world.accounts[f].nick)
                for f in acc.friends
                if book.member.get(f, 0) == number and f in self.world.accounts
            ]  # fmt: skip
            groups.append(msg.GroupEntry(name, number, friends))
        conn.push(msg.LoginResult(1, groups))
        queued = self.waiting.pop(m.uin, deque())
        self.waiting_total -= len(queued)
        for waiting in queued:
            conn.push(waiting)
        self._tell_friends(m.uin, self.shown_status(m.uin))


def _send(srv: OICQServer, conn: _Conn, m: msg.SendMessage) -> None:
    srv.deliver(m.to, msg.Incoming(2, conn.uin, m.text, 0))


def _broadcast(srv: OICQServer, conn: _Conn, m: msg.Broadcast) -> None:
    book = srv.book(conn.uin)
    for friend in srv.world.accounts[conn.uin].friends:
        if m.group == 0 or book.member.get(friend, 0) == m.group:
            srv.deliver(friend, msg.Incoming(2, conn.uin, m.text, 0))


def _info(srv: OICQServer, conn: _Conn, m: msg.GetFriendInfo) -> None:
    acc = srv.world.accounts.get(m.friend)
    if acc is None:
        conn.push(msg.FriendInfo(ok=0, friend=m.friend))
        return
    gender = 1 if acc.gender == "female" else 0
    conn.push(
        msg.FriendInfo(ok=1, friend=acc.qq, nick=acc.nick, face=acc.face, gender=gender,
                       intro=acc.lnick)
    )  # fmt: skip


def _add_group(srv: OICQServer, conn: _Conn, m: msg.AddGroup) -> None:
    names = srv.book(conn.uin).names
    number = max(names) + 1
    if number > 255:
        conn.push(msg.AddGroupResult(0, 0, m.name))
        return
    names[number] = m.name
    conn.push(msg.AddGroupResult(1, number, m.name))


def _rename_group(srv: OICQServer, conn: _Conn, m: msg.RenameGroup) -> None:
    names = srv.book(conn.uin).names
    ok = m.group in names
    if ok:
        names[m.group] = m.name
    conn.push(msg.RenameGroupResult(int(ok), m.group, m.name))


def _delete_group(srv: OICQServer, conn: _Conn, m: msg.DeleteGroup) -> None:
    book = srv.book(conn.uin)
    ok = m.group in book.names and m.group != 0
    if ok:
        del book.names[m.group]
        for friend, group in list(book.member.items()):
            if group == m.group:
                book.member[friend] = 0
    conn.push(msg.DeleteGroupResult(int(ok), m.group))


def _move(srv: OICQServer, conn: _Conn, m: msg.MoveFriends) -> None:
    book = srv.book(conn.uin)
    friends = srv.world.accounts[conn.uin].friends
    ok = all(e.group in book.names and e.friend in friends for e in m.moves)
    if ok:
        for e in m.moves:
            book.member[e.friend] = e.group
    conn.push(msg.MoveFriendsResult(int(ok)))


def _who(srv: OICQServer, conn: _Conn, m: msg.WhoIsOnline) -> None:
    visible = sorted(u for u in srv.online if srv.shown_status(u) != OFFLINE)
    if m.direction == 1:
        chosen = [u for u in reversed(visible) if u <= m.start]
    else:
        chosen = [u for u in visible if u >= m.start]
    conn.push(msg.OnlineUsers(1, [srv._user_entry(u) for u in chosen[: m.count]]))


def _search(srv: OICQServer, conn: _Conn, m: msg.CustomSearch) -> None:
    hits = [a.qq for a in srv.world.accounts.values() if m.sql and m.sql in a.nick][:50]
    conn.push(msg.SearchResult(1, [srv._user_entry(u) for u in hits]))


def _add_friend(srv: OICQServer, conn: _Conn, m: msg.AddFriend) -> None:
    target = srv.world.accounts.get(m.friend)
    if target is None or m.friend == conn.uin:
        conn.push(msg.AddFriendResult(0, m.friend))
        return
    policy = srv.auth.get(m.friend, 0)
    if policy == 2:
        conn.push(msg.AddFriendResult(3, m.friend))
    elif policy == 1:
        conn.push(msg.AddFriendResult(2 if m.friend in srv.online else 4, m.friend))
    else:
        srv.world.accounts[conn.uin].friends[m.friend] = WorldFriend()
        conn.push(msg.AddFriendResult(1, m.friend))
        conn.push(msg.FriendAdded(m.friend, target.nick, target.face, srv.shown_status(m.friend)))
        srv.deliver(m.friend, msg.Incoming(1, conn.uin, "", 1))


def _request(srv: OICQServer, conn: _Conn, m: msg.RequestFriend) -> None:
    if m.friend in srv.world.accounts:
        if (conn.uin, m.friend) not in srv.requests:
            if len(srv.requests) >= srv.max_friend_requests:
                return  # pending requests are capped; a refused one is not delivered
            srv.requests.add((conn.uin, m.friend))
        srv.deliver(m.friend, msg.Incoming(1, conn.uin, m.reason, 2))


def _answer(srv: OICQServer, conn: _Conn, m: msg.AnswerFriendRequest) -> None:
    if (m.friend, conn.uin) not in srv.requests:
        return
    srv.requests.discard((m.friend, conn.uin))
    if m.agree:
        srv.world.accounts[m.friend].friends[conn.uin] = WorldFriend()
        me = srv.world.accounts[conn.uin]
        srv.deliver(m.friend, msg.FriendAdded(conn.uin, me.nick, me.face, srv.shown_status(me.qq)))
    srv.deliver(m.friend, msg.Incoming(1, conn.uin, "", 3 if m.agree else 4))


def _delete_friend(srv: OICQServer, conn: _Conn, m: msg.DeleteFriend) -> None:
    friends = srv.world.accounts[conn.uin].friends
    ok = friends.pop(m.friend, None) is not None
    srv.book(conn.uin).member.pop(m.friend, None)
    conn.push(msg.DeleteFriendResult(int(ok), m.friend))


def _mode(srv: OICQServer, conn: _Conn, m: msg.SetMode) -> None:
    if m.mode not in (ONLINE, HIDDEN, DND, OFFLINE):
        conn.push(msg.ModeResult(conn.uin, conn.mode))
        return
    conn.mode = m.mode
    conn.push(msg.ModeResult(conn.uin, m.mode))
    srv._tell_friends(conn.uin, srv.shown_status(conn.uin))


def _update(srv: OICQServer, conn: _Conn, m: msg.UpdateProfile) -> None:
    acc = srv.world.accounts[conn.uin]
    acc.nick, acc.face, acc.lnick = m.nick, m.face, m.intro
    acc.gender = "female" if m.gender == 1 else "male"
    if m.password:
        acc.password = m.password
    srv.auth[conn.uin] = m.auth
    conn.push(msg.UpdateProfileResult(1))


def _file_offer(srv: OICQServer, conn: _Conn, m: msg.FileOffer) -> None:
    srv.deliver(m.friend, msg.FileOfferNotice(conn.uin, m.filename, m.size))


def _file_answer(srv: OICQServer, conn: _Conn, m: msg.FileAnswer) -> None:
    srv.deliver(m.friend, msg.FileAnswerNotice(conn.uin, m.allow))


def _file_data(srv: OICQServer, conn: _Conn, m: msg.FileData) -> None:
    srv.deliver(m.friend, msg.FileDataNotice(conn.uin, m.data))


def _monitor(srv: OICQServer, conn: _Conn, m: msg.Monitor) -> None:
    log.info("refused: %d asked to watch %d's conversations", conn.uin, m.target)


_HANDLERS: dict[type[msg.Message], Callable[[OICQServer, _Conn, Any], None]] = {
    msg.SendMessage: _send,
    msg.Broadcast: _broadcast,
    msg.GetFriendInfo: _info,
    msg.AddGroup: _add_group,
    msg.RenameGroup: _rename_group,
    msg.DeleteGroup: _delete_group,
    msg.MoveFriends: _move,
    msg.WhoIsOnline: _who,
    msg.CustomSearch: _search,
    msg.AddFriend: _add_friend,
    msg.RequestFriend: _request,
    msg.AnswerFriendRequest: _answer,
    msg.DeleteFriend: _delete_friend,
    msg.SetMode: _mode,
    msg.Monitor: _monitor,
    msg.UpdateProfile: _update,
    msg.FileOffer: _file_offer,
    msg.FileAnswer: _file_answer,
    msg.FileData: _file_data,
}
