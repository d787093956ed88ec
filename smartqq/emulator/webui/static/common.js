// Shared by the chat, phone and operator pages: the API client, safe DOM building
// (text only ever goes through textContent, so "<script>" shows as text), faces,
// and a WebSocket that reconnects by itself (the emulator may restart).
"use strict";

const SQ = (() => {
  const TOKEN_KEY = "smartqq.token";
  const SESSION_KEY = "smartqq.session";

  // The control token (needed off loopback) arrives once as ?token=…; keep it per tab.
  const url = new URL(location.href);
  if (url.searchParams.has("token")) {
    sessionStorage.setItem(TOKEN_KEY, url.searchParams.get("token"));
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  const accessToken = () => sessionStorage.getItem(TOKEN_KEY) || "";

  // The signed-in world account of this tab (sessionStorage: each tab its own account).
  function session() {
    try { return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null"); } catch (e) { return null; }
  }
  function setSession(value) {
    if (value) sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
    else sessionStorage.removeItem(SESSION_KEY);
  }

  class ApiError extends Error {
    constructor(message, status, data) { super(message); this.status = status; this.data = data || {}; }
  }

  async function api(path, options) {
    const opts = options || {};
    const headers = {};
    if (accessToken()) headers["Authorization"] = "Bearer " + accessToken();
    const s = session();
    if (s && opts.session !== false) headers["X-Web-Session"] = s.session;
    const init = { method: opts.method || (opts.body === undefined ? "GET" : "POST"), headers };
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      throw new ApiError("The emulator does not answer (is it running?)", 0);
    }
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok || !data || data.ok === false) {
      const message = (data && data.error) || ("HTTP " + resp.status);
      throw new ApiError(message, resp.status, data);
    }
    return data;
  }

  // withToken adds the control token to URLs the browser fetches by itself (img, WebSocket).
  function withToken(path, params) {
    const u = new URL(path, location.href);
    for (const [k, v] of Object.entries(params || {})) u.searchParams.set(k, v);
    if (accessToken()) u.searchParams.set("token", accessToken());
    return u.pathname + u.search;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  // A few classic QQ faces (SmartQQ face ids) shown as emoji; others as [face N].
  const FACES = [
    [14, "🙂", "smile"], [13, "😁", "grin"], [12, "😜", "cheeky"], [21, "😊", "cute"],
    [2, "😍", "in love"], [6, "😳", "shy"], [5, "😢", "tears"], [9, "😭", "crying"],
    [11, "😠", "angry"], [26, "😱", "scared"], [32, "🤔", "puzzled"], [39, "👋", "bye"],
    [76, "👍", "thumbs up"], [77, "👎", "thumbs down"], [78, "🤝", "handshake"], [79, "✌", "victory"],
    [63, "🌹", "rose"], [64, "🥀", "wilted"], [66, "❤", "heart"], [69, "🎁", "gift"],
    [74, "☀", "sun"], [75, "🌙", "moon"], [96, "😅", "sweat"], [49, "🤗", "hug"],
  ];
  const FACE_BY_ID = new Map(FACES.map(([id, ch, name]) => [id, { ch, name }]));
  const FACE_BY_CHAR = new Map(FACES.map(([id, ch]) => [ch, id]));

  function renderContent(content) {
    const frag = document.createDocumentFragment();
    for (const part of content || []) {
      if (typeof part === "string") frag.append(document.createTextNode(part));
      else if (Array.isArray(part) && part[0] === "face") {
        const f = FACE_BY_ID.get(part[1]);
        frag.append(el("span", { class: "face", title: "face " + part[1] + (f ? " (" + f.name + ")" : ""),
          "data-face": part[1], text: f ? f.ch : "[face " + part[1] + "]" }));
      }
    }
    return frag;
  }

  // Composer text to wire content: the picker's emoji become faces, the rest stays text.
  function toContent(text) {
    const out = [];
    let buf = "";
    for (const ch of Array.from(text)) {
      if (FACE_BY_CHAR.has(ch)) {
        if (buf) out.push(buf);
        buf = "";
        out.push(["face", FACE_BY_CHAR.get(ch)]);
      } else buf += ch;
    }
    if (buf) out.push(buf);
    return out;
  }

  function contentSize(content) {
    return content.reduce((n, p) => n + (typeof p === "string" ? p.length : 1), 0);
  }

  // A WebSocket that reconnects with backoff; onState("live"|"reconnecting"|"closed").
  function liveSocket(path, params, handlers) {
    let ws = null, delay = 300, stopped = false, timer = null;
    function open() {
      const u = new URL(withToken(path, params), location.href);
      u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
      ws = new WebSocket(u.href);
      ws.onopen = () => { delay = 300; handlers.onState && handlers.onState("live"); };
      ws.onmessage = (ev) => {
        let data;
        try { data = JSON.parse(ev.data); } catch (e) { return; }
        handlers.onMessage(data);
      };
      ws.onclose = (ev) => {
        if (stopped) return;
        if (ev.code === 4401 || ev.code === 1008) { handlers.onState && handlers.onState("closed"); return; }
        handlers.onState && handlers.onState("reconnecting");
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 3000);
      };
    }
    open();
    return { close() { stopped = true; clearTimeout(timer); if (ws) ws.close(); } };
  }

  function setConn(state) {
    const node = document.getElementById("conn");
    if (!node) return;
    node.dataset.state = state;
    node.textContent = { live: "live", reconnecting: "reconnecting…", closed: "offline" }[state] || state;
  }

  function clock(t) {
    const d = new Date(t * 1000);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  }

  return { api, ApiError, el, session, setSession, withToken, renderContent, toContent,
    contentSize, liveSocket, setConn, clock, FACES };
})();
