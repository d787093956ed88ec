// The chat page: sign in as a world account, pick a friend, group or discussion,
// send text and faces, and see every message of this run live over a WebSocket.
"use strict";

(() => {
  const { api, el, session, setSession, withToken, renderContent, toContent, contentSize,
    liveSocket, setConn, clock, FACES } = SQ;
  const MAX_TEXT = 2000;
  const $ = (id) => document.getElementById(id);

  let me = null;              // {qq, nick}
  let book = null;            // the /me answer: friends, groups, discussions
  let current = null;         // {kind, id}
  let socket = null;
  let refreshTimer = null;
  const messages = new Map(); // id -> message
  const unread = new Map();   // chat key -> count
  const names = new Map();    // qq -> display name

  // -- sign-in ------------------------------------------------------------------------

  function showLogin(message) {
    $("chat-view").hidden = true;
    $("login-view").hidden = false;
    $("logout").hidden = true;
    $("conn").hidden = true;
    $("whoami").textContent = "";
    $("login-error").textContent = message || "";
    $("login-qq").focus();
  }

  function loadCaptcha() {
    const qq = $("login-qq").value.trim();
    $("captcha-box").hidden = false;
    $("captcha-img").src = withToken("/_web/api/captcha", { qq, _: Date.now() });
    $("login-captcha").value = "";
  }

  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const qq = $("login-qq").value.trim();
    const password = $("login-password").value;
    $("login-error").textContent = "";
    if (!/^\d{1,12}$/.test(qq)) { $("login-error").textContent = "Enter a QQ number (digits only)."; return; }
    const body = { qq, password };
    if (!$("captcha-box").hidden) body.captcha = $("login-captcha").value.trim();
    try {
      const res = await api("/_web/api/login", { body, session: false });
      setSession({ session: res.session, qq: res.qq, nick: res.nick });
      $("login-password").value = "";
      $("captcha-box").hidden = true;
      await startChat();
    } catch (e) {
      $("login-error").textContent = e.message;
      if (e.data && e.data.captcha) loadCaptcha();
    }
  });
  $("captcha-refresh").addEventListener("click", loadCaptcha);

  $("logout").addEventListener("click", async () => {
    try { await api("/_web/api/logout", { body: {} }); } catch (e) { /* signing out anyway */ }
    stopChat();
    showLogin("");
  });

  // -- contacts -----------------------------------------------------------------------

  const keyOf = (kind, id) => (kind === "sess" ? "buddy" : kind) + ":" + id;

  function chatKey(msg) {
    if (msg.kind === "buddy" || msg.kind === "sess") return keyOf("buddy", msg.from === me.qq ? msg.to : msg.from);
    return keyOf(msg.kind, msg.to);
  }

  function initials(name) { return Array.from(name.trim() || "?")[0].toUpperCase(); }

  function contactItem(kind, id, title, sub, status) {
    const key = keyOf(kind, id);
    let li = document.querySelector(`li[data-key="${CSS.escape(key)}"]`);
    if (!li) {
      li = el("li", { "data-testid": "contact", "data-kind": kind, "data-id": id, "data-key": key,
        role: "button", tabindex: 0, "aria-selected": "false",
        onclick: () => openChat(kind, id),
        onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openChat(kind, id); } } },
        el("span", { class: "avatar " + kind, "aria-hidden": "true" }),
        el("span", { class: "name" }),
        el("span", { class: "status" }),
        el("span", { class: "badge", hidden: true }));
    }
    li.querySelector(".avatar").textContent = initials(title);
    const name = li.querySelector(".name");
    name.replaceChildren(document.createTextNode(title), sub ? el("small", { text: " " + sub }) : "");
    const st = li.querySelector(".status");
    st.hidden = !status;
    st.dataset.status = status || "";
    st.textContent = status || "";
    return li;
  }

  function renderContacts() {
    names.clear();
    names.set(me.qq, me.nick);
    for (const g of book.groups) for (const m of g.members) if (!names.has(m.qq)) names.set(m.qq, m.name);
    for (const d of book.discussions) for (const m of d.members) if (!names.has(m.qq)) names.set(m.qq, m.name);
    for (const f of book.friends) names.set(f.qq, f.markname || f.nick);
    $("friends").replaceChildren(...book.friends.map((f) =>
      contactItem("buddy", f.qq, f.markname || f.nick, f.markname ? "(" + f.nick + ")" : "", f.status)));
    $("groups").replaceChildren(...book.groups.map((g) =>
      contactItem("group", g.code, g.name, g.members.length + " members", "")));
    $("discus").replaceChildren(...book.discussions.map((d) =>
      contactItem("discu", d.id, d.name, d.members.length + " members", "")));
    renderBadges();
    markSelected();
  }

  function renderBadges() {
    for (const li of document.querySelectorAll("li[data-testid=contact]")) {
      const n = unread.get(li.dataset.key) || 0;
      const badge = li.querySelector(".badge");
      badge.hidden = n === 0;
      badge.textContent = n > 99 ? "99+" : String(n);
    }
  }

  function markSelected() {
    const key = current ? keyOf(current.kind, current.id) : "";
    for (const li of document.querySelectorAll("li[data-testid=contact]")) {
      li.setAttribute("aria-selected", li.dataset.key === key ? "true" : "false");
    }
  }

  // -- conversation -------------------------------------------------------------------

  function chatTitle(kind, id) {
    if (kind === "buddy") {
      const f = book.friends.find((x) => x.qq === id);
      return f ? [f.markname || f.nick, (f.markname ? f.nick + " · " : "") + id + " · " + f.status] : [String(id), ""];
    }
    const list = kind === "group" ? book.groups : book.discussions;
    const c = list.find((x) => (kind === "group" ? x.code : x.id) === id);
    return c ? [c.name, c.members.map((m) => m.name).join(", ")] : [String(id), ""];
  }

  function openChat(kind, id) {
    current = { kind, id: Number(id) };
    unread.delete(keyOf(kind, current.id));
    const [title, sub] = chatTitle(kind, current.id);
    $("conv-title").textContent = title;
    $("conv-sub").textContent = sub;
    $("composer").disabled = false;
    $("send").disabled = false;
    $("chat-error").textContent = "";
    markSelected();
    renderBadges();
    renderMessages();
    $("composer").focus();
  }

  function messageItem(msg) {
    const mine = msg.from === me.qq;
    const who = mine ? me.nick : (names.get(msg.from) || String(msg.from));
    return el("li", { "data-testid": "message", "data-from": msg.from, "data-id": msg.id,
      class: mine ? "mine" : "theirs" },
      el("div", { class: "meta", text: who + " · " + clock(msg.t) }),
      el("div", { class: "bubble" }, renderContent(msg.content)));
  }

  function renderMessages() {
    const list = $("messages");
    if (!current) { list.replaceChildren(el("li", { class: "empty", text: "Pick a friend, group or discussion." })); return; }
    const key = keyOf(current.kind, current.id);
    const mine = [...messages.values()].filter((m) => chatKey(m) === key).sort((a, b) => a.id - b.id);
    list.replaceChildren(...(mine.length ? mine.map(messageItem)
      : [el("li", { class: "empty", text: "No messages in this run yet. Say hello!" })]));
    list.scrollTop = list.scrollHeight;
  }

  function addMessage(msg, live) {
    if (messages.has(msg.id)) return;
    messages.set(msg.id, msg);
    const key = chatKey(msg);
    if (current && key === keyOf(current.kind, current.id)) {
      const list = $("messages");
      const empty = list.querySelector(".empty");
      if (empty) empty.remove();
      const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
      list.append(messageItem(msg));
      if (atBottom || msg.from === me.qq) list.scrollTop = list.scrollHeight;
    } else if (live && msg.from !== me.qq) {
      unread.set(key, (unread.get(key) || 0) + 1);
      renderBadges();
    }
  }

  // -- composer -----------------------------------------------------------------------

  async function send() {
    if (!current) return;
    const box = $("composer");
    const content = toContent(box.value);
    $("chat-error").textContent = "";
    if (!content.some((p) => typeof p !== "string" || p.trim())) return;
    const size = contentSize(content);
    if (size > MAX_TEXT) {
      $("chat-error").textContent = `Message too long: ${size} characters (limit ${MAX_TEXT}).`;
      return;
    }
    $("send").disabled = true;
    try {
      const res = await api("/_web/api/send", { body: { kind: current.kind, to: current.id, content } });
      box.value = "";
      autosize();
      addMessage(res.message, false);
      if (res.delivered_to === 0 && current.kind === "buddy") {
        $("chat-error").textContent = "Sent, but nobody is signed in to the SmartQQ side of this account to receive it.";
      }
    } catch (e) {
      if (e.status === 401) { stopChat(); showLogin(e.message); return; }
      $("chat-error").textContent = "Not sent: " + e.message;
    } finally {
      $("send").disabled = false;
      box.focus();
    }
  }

  function autosize() {
    const box = $("composer");
    box.style.height = "auto";
    box.style.height = Math.min(box.scrollHeight + 2, 160) + "px";
  }

  $("composer-form").addEventListener("submit", (ev) => { ev.preventDefault(); send(); });
  $("composer").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
    if (ev.key === "Escape") $("face-picker").hidden = true;
  });
  $("composer").addEventListener("input", () => { $("chat-error").textContent = ""; autosize(); });

  $("face-picker").append(...FACES.map(([id, ch, name]) => el("button", {
    type: "button", title: name + " (face " + id + ")", "data-face": id, text: ch,
    onclick: () => {
      const box = $("composer");
      const at = box.selectionStart ?? box.value.length;
      box.value = box.value.slice(0, at) + ch + box.value.slice(box.selectionEnd ?? at);
      box.selectionStart = box.selectionEnd = at + ch.length;
      $("face-picker").hidden = true;
      box.focus();
    } })));
  $("faces-toggle").addEventListener("click", () => { $("face-picker").hidden = !$("face-picker").hidden; });

  // -- lifecycle ----------------------------------------------------------------------

  async function refresh() {
    book = await api("/_web/api/me");
    me = { qq: book.qq, nick: book.nick };
    renderContacts();
    if (current) $("conv-sub").textContent = chatTitle(current.kind, current.id)[1];
  }

  async function startChat() {
    try {
      await refresh();
    } catch (e) {
      setSession(null);
      showLogin(e.status === 401 ? "" : e.message);
      return;
    }
    $("login-view").hidden = true;
    $("chat-view").hidden = false;
    $("logout").hidden = false;
    $("conn").hidden = false;
    $("whoami").textContent = `${me.nick} (${me.qq})`;
    document.title = `${me.nick} · SmartQQ emulator`;
    socket = liveSocket("/_web/api/ws", { session: session().session }, {
      onState: setConn,
      onMessage: (data) => {
        if (data.type === "hello") {
          for (const m of data.history) addMessage(m, false);
          renderMessages();
        } else if (data.type === "message") addMessage(data.message, true);
      },
    });
    refreshTimer = setInterval(() => refresh().catch((e) => {
      if (e.status === 401) { stopChat(); showLogin("Your page session ended; sign in again."); }
    }), 5000);
    if (!current && book.friends.length) openChat("buddy", book.friends[0].qq);
    else renderMessages();
  }

  function stopChat() {
    setSession(null);
    if (socket) socket.close();
    socket = null;
    clearInterval(refreshTimer);
    messages.clear();
    unread.clear();
    current = null;
    $("composer").disabled = true;
    $("send").disabled = true;
  }

  if (session()) startChat(); else showLogin("");
})();
